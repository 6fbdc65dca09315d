"""Case work, the use-cases that change a case: `moves` (activate, decide, assign, outcome, appeal,
close, withdraw), `complaints` and the threshold check, `decisions` (the threshold decision as it
stands), `review` (evidence, hours, meeting, findings, recommendations, actions), `corrections` and
`reassignment`, `duties` (consultation, signposting), `retention` (purging personal data) and
`online` (an application made through the web door, in one transaction)."""
