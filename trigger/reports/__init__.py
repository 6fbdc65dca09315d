"""The reports, one module each: `annual` (the published return), `hours` (review hours and cost),
`deadlines` (on-time performance), `actions` (the action-plan tracker) and `chronology` (a case's
history, its export and the appeal bundle's chronology). `common` holds the reporting period."""
