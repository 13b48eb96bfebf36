/* libibverbs loaded at run time: the few verbs daxpin's RDMA probe needs (device, protection
 * domain, memory region), each returning 0 or an errno. libibverbs.so.1 is opened with dlopen on
 * first use, so daxpin starts where it is absent (ELIBACC then). Opaque handles are pointers. */
#ifndef CRDMA_H
#define CRDMA_H
#include <stddef.h>
#include <stdint.h>

/* ibv_get_device_list, ibv_open_device of the first device, ibv_alloc_pd and the device's odp_caps
 * from query_device_ex. ELIBACC: no libibverbs.so.1; ENODEV: no device. */
int crdma_open(uintptr_t *handle, char *name, size_t name_len, uint64_t *odp_general, uint32_t *odp_rc,
               uint32_t *odp_ud);
/* ibv_reg_mr(pd, addr, length, access): the region and its lkey, or errno. */
int crdma_reg_mr(uintptr_t handle, uintptr_t addr, size_t length, int access, uintptr_t *mr, uint32_t *lkey);
/* ibv_dereg_mr. */
int crdma_dereg_mr(uintptr_t mr);
/* ibv_dealloc_pd and ibv_close_device. */
void crdma_close(uintptr_t handle);

#endif
