// Progressive enhancement only: every page works without JavaScript. GOV.UK Frontend's components
// (conditional reveals, the error summary's focus, no double submission) start when the browser runs modules.
import { initAll } from "./govuk/govuk-frontend.min.js";

document.body.classList.add("js-enabled", "govuk-frontend-supported");
initAll();
