/* SPDX-License-Identifier: EUPL-1.2 */
/*
 * serve.h - the one function of the HTTP server the CLI's dispatcher calls
 * (`datahabitat serve`): the server lives in src/server/, beside the CLI, not in the library.
 */
#ifndef DH_SERVER_SERVE_H
#define DH_SERVER_SERVE_H

/* Run the server; argv[0] is "serve". Returns the exit code (0 after a graceful stop). */
int srv_main(int argc, char **argv);

#endif
