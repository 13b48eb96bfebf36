#include "CRDMA.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <infiniband/verbs.h>

/* The exported verbs (libibverbs' default symbol versions), looked up once. Inline helpers of
 * verbs.h that call other exported symbols are not used: query_device_ex is reached through the
 * verbs_context's op table, which is header ABI. */
static struct {
  struct ibv_device **(*get_device_list)(int *);
  void (*free_device_list)(struct ibv_device **);
  const char *(*get_device_name)(struct ibv_device *);
  struct ibv_context *(*open_device)(struct ibv_device *);
  int (*close_device)(struct ibv_context *);
  struct ibv_pd *(*alloc_pd)(struct ibv_context *);
  int (*dealloc_pd)(struct ibv_pd *);
  struct ibv_mr *(*reg_mr)(struct ibv_pd *, void *, size_t, int);
  int (*dereg_mr)(struct ibv_mr *);
  int loaded;
} verbs;

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void load(void) {
  void *lib = dlopen("libibverbs.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib) return;
#define SYM(field, name)                                                                                               \
  if (!(*(void **)&verbs.field = dlsym(lib, name))) return;
  SYM(get_device_list, "ibv_get_device_list")
  SYM(free_device_list, "ibv_free_device_list")
  SYM(get_device_name, "ibv_get_device_name")
  SYM(open_device, "ibv_open_device")
  SYM(close_device, "ibv_close_device")
  SYM(alloc_pd, "ibv_alloc_pd")
  SYM(dealloc_pd, "ibv_dealloc_pd")
  SYM(reg_mr, "ibv_reg_mr")
  SYM(dereg_mr, "ibv_dereg_mr")
#undef SYM
  verbs.loaded = 1;
}

struct crdma_context {
  struct ibv_context *ctx;
  struct ibv_pd *pd;
};

static int error_or(int fallback) { return errno ? errno : fallback; }

int crdma_open(uintptr_t *handle, char *name, size_t name_len, uint64_t *odp_general, uint32_t *odp_rc,
               uint32_t *odp_ud) {
  pthread_once(&once, load);
  if (!verbs.loaded) return ELIBACC;
  int n = 0;
  errno = 0;
  struct ibv_device **list = verbs.get_device_list(&n);
  if (!list) return errno == ENOSYS ? ENODEV : error_or(ENODEV);
  if (n <= 0) {
    verbs.free_device_list(list);
    return ENODEV;
  }
  const char *dev = verbs.get_device_name(list[0]);
  snprintf(name, name_len, "%s", dev ? dev : "?");
  errno = 0;
  struct ibv_context *ctx = verbs.open_device(list[0]);
  int err = ctx ? 0 : error_or(ENODEV);
  verbs.free_device_list(list);
  if (!ctx) return err;
  errno = 0;
  struct ibv_pd *pd = verbs.alloc_pd(ctx);
  if (!pd) {
    err = error_or(ENOMEM);
    verbs.close_device(ctx);
    return err;
  }
  *odp_general = 0;
  *odp_rc = 0;
  *odp_ud = 0;
  struct verbs_context *vctx = verbs_get_ctx_op(ctx, query_device_ex);
  if (vctx) {
    struct ibv_device_attr_ex attr;
    memset(&attr, 0, sizeof attr);
    if (vctx->query_device_ex(ctx, NULL, &attr, sizeof attr) == 0) {
      *odp_general = attr.odp_caps.general_caps;
      *odp_rc = attr.odp_caps.per_transport_caps.rc_odp_caps;
      *odp_ud = attr.odp_caps.per_transport_caps.ud_odp_caps;
    }
  }
  struct crdma_context *c = calloc(1, sizeof *c);
  if (!c) {
    verbs.dealloc_pd(pd);
    verbs.close_device(ctx);
    return ENOMEM;
  }
  c->ctx = ctx;
  c->pd = pd;
  *handle = (uintptr_t)c;
  return 0;
}

int crdma_reg_mr(uintptr_t handle, uintptr_t addr, size_t length, int access, uintptr_t *mr, uint32_t *lkey) {
  struct crdma_context *c = (struct crdma_context *)handle;
  errno = 0;
  struct ibv_mr *m = verbs.reg_mr(c->pd, (void *)addr, length, access);
  if (!m) return error_or(EINVAL);
  *mr = (uintptr_t)m;
  *lkey = m->lkey;
  return 0;
}

int crdma_dereg_mr(uintptr_t mr) { return verbs.dereg_mr((struct ibv_mr *)mr); }

void crdma_close(uintptr_t handle) {
  struct crdma_context *c = (struct crdma_context *)handle;
  verbs.dealloc_pd(c->pd);
  verbs.close_device(c->ctx);
  free(c);
}
