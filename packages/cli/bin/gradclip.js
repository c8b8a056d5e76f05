#!/usr/bin/env node
// The `gradclip` command. A committed launcher, so that npm links the bin
// even before `dist/` is built (npm ci links bins before `prepare` builds).
import "../dist/main.js";
