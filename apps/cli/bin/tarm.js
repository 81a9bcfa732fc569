#!/usr/bin/env node
// The `tarm` command. It lives outside dist/ and is committed, so that `npm ci` links it even though the
// workspace build (the root `prepare` script) only writes dist/ after npm has linked the bins.
import '../dist/main.js';
