// Progressive enhancement only: every page reads and every form posts without JavaScript.
import { initAll } from './govuk/govuk-frontend.min.js'

initAll()
