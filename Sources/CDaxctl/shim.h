#ifndef CDAXCTL_SHIM_H
#define CDAXCTL_SHIM_H
// Only libndctl.h: <ndctl/ndctl.h> includes ccan headers that Debian does not ship.
// The *_foreach macros do not import into Swift; callers walk *_get_first / *_get_next.
#include <ndctl/libndctl.h>
#include <daxctl/libdaxctl.h>
#endif
