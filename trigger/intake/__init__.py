"""What comes in from partners: `partner_logs` (importing incident logs: validation, bulk insert),
`log_files` (reading them: CSV encodings, .xlsx, standard input, the column maps in `maps/`) and
`scan` (victims with a second report, and those who meet the threshold with no case)."""
