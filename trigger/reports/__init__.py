"""The reports, one module each: `annual` (the published return), `hours` (review hours and cost),
`deadlines` (on-time performance) and `actions` (the action-plan tracker); `publish` writes the annual
return as a tidy table, a spreadsheet (`ods` for OpenDocument) and a web page (`templates/`).
`common` holds the reporting period. A case's chronology is a read path, `trigger.read.chronology`."""
