"""The read paths: `views` (a case as plain data, for `show`, the bundle and export), `listing`
(`trigger list`) and `corrected` (which issued letters a later correction touched). They read the Core
tables of `trigger.store.tables`, never build the models, so `show` and `list` stay near the import
floor."""
