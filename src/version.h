/* version: the release of sselight, printed by the command-line tools'
 * --version and shown in their man pages. */
#ifndef SSELIGHT_VERSION_H
#define SSELIGHT_VERSION_H

#define SSELIGHT_VERSION "0.9.0"

#endif
