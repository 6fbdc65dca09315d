"""The applicant's door: the online application, a face beside the command line over the same
use-cases (`trigger.cases.online`). Nothing in the engine imports it; it needs the `web` extra
(Starlette, uvicorn, GOV.UK Frontend's Jinja macros), which `trigger web serve` names when missing."""
