"""The read paths: `views` (one case as plain data, for `show`, the bundle and export), `listing`
(`trigger list`: the cases, one line each), `corrected_facts` (the corrections recorded on a case and
the issued letters they touched), `chronology` (a case's history) and `undelivered` (reminders not
delivered). All but `chronology` read the Core tables of `trigger.store.tables` and never build the
models, so `show` and `list` stay near the import floor."""
