/* pinbench: daxpin bench's twin in plain C, the yardstick for its overhead.
 *
 * The same loop as `daxpin bench` for one interface and one memory kind: one buffer mapped,
 * advised, faulted in before any clock is read; one untimed pin + unpin; then N rounds timing
 * exactly the pin call and the unpin call with CLOCK_MONOTONIC. Prints one JSON line:
 *   {"interface":"io_uring","memory":"thp","bytes":N,"iterations":N,"gib_per_s":X,
 *    "pin_median_ns":N,"pin_p99_ns":N,"pin_min_ns":N,"unpin_median_ns":N,"unpin_min_ns":N}
 *
 * usage: pinbench --interface io_uring|vfio-type1v2 --memory anon-4k|thp|hugetlb-2m|memfd|devdax
 *                 --size BYTES --iterations N [--devdax /dev/daxX.Y] [--vfio-group N]
 * Exit 0 measured, 1 the kernel refused or an unpin went wrong, 2 setup failed, 64 usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <linux/vfio.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define HUGE (2UL << 20)

static const char *interface = "io_uring", *memory = "anon-4k", *devdax = NULL;
static size_t size = 1UL << 30;
static int iterations = 20, group = -1;
static int ring = -1, container = -1, groupfd = -1;
static void *buf;
static uint64_t iova;

static uint64_t now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(int code, const char *what) {
  fprintf(stderr, "pinbench: %s: %s\n", what, strerror(errno));
  exit(code);
}

static int cmp(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* The median as daxpin computes it (mean of the middle two, rounded down) and the nearest-rank p99. */
static uint64_t median(uint64_t *s, int n) {
  qsort(s, n, sizeof *s, cmp);
  return n % 2 ? s[n / 2] : s[n / 2 - 1] / 2 + s[n / 2] / 2 + (s[n / 2 - 1] % 2 + s[n / 2] % 2) / 2;
}
static uint64_t p99(uint64_t *sorted, int n) {
  int rank = (99 * n + 99) / 100;
  return sorted[(rank < 1 ? 1 : rank) - 1];
}

static void prepare(void) {
  int write = strcmp(memory, "devdax") != 0;
  if (!strcmp(memory, "anon-4k") || !strcmp(memory, "thp")) {
    char *whole = mmap(NULL, size + HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (whole == MAP_FAILED) die(2, "mmap");
    buf = (void *)(((uintptr_t)whole + HUGE - 1) & ~(HUGE - 1));
    if (madvise(buf, size, strcmp(memory, "thp") ? MADV_NOHUGEPAGE : MADV_HUGEPAGE)) die(2, "madvise");
  } else if (!strcmp(memory, "hugetlb-2m")) {
    buf = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
    if (buf == MAP_FAILED) die(2, "mmap(MAP_HUGETLB)");
  } else if (!strcmp(memory, "memfd")) {
    int fd = memfd_create("pinbench", MFD_CLOEXEC);
    if (fd < 0 || ftruncate(fd, size)) die(2, "memfd");
    buf = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (buf == MAP_FAILED) die(2, "mmap(memfd)");
  } else if (!strcmp(memory, "devdax")) {
    int fd = devdax ? open(devdax, O_RDWR | O_CLOEXEC) : -1;
    if (fd < 0) die(2, "open --devdax");
    buf = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (buf == MAP_FAILED) die(2, "mmap(devdax)");
  } else {
    fprintf(stderr, "pinbench: unknown --memory %s\n", memory);
    exit(64);
  }
  /* As daxpin faults: one byte per page, a hugetlb page being 2 MiB. */
  size_t page = strcmp(memory, "hugetlb-2m") ? 4096 : HUGE;
  volatile unsigned char sum = 0;
  for (size_t off = 0; off < size; off += page) {
    unsigned char *p = (unsigned char *)buf + off;
    if (write) *p = (unsigned char)(off >> 12) | 1; else sum += *p;
  }
}

static void open_interface(void) {
  if (!strcmp(interface, "io_uring")) {
    struct io_uring_params params;
    memset(&params, 0, sizeof params);
    ring = (int)syscall(__NR_io_uring_setup, 1, &params);
    if (ring < 0) die(2, "io_uring_setup");
  } else if (!strcmp(interface, "vfio-type1v2")) {
    char path[64];
    if (group < 0) { fprintf(stderr, "pinbench: vfio-type1v2 needs --vfio-group N\n"); exit(64); }
    snprintf(path, sizeof path, "/dev/vfio/%d", group);
    container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
    groupfd = open(path, O_RDWR | O_CLOEXEC);
    if (container < 0 || groupfd < 0) die(2, "open VFIO container or group");
    if (ioctl(groupfd, VFIO_GROUP_SET_CONTAINER, &container)) die(2, "VFIO_GROUP_SET_CONTAINER");
    if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)) die(2, "VFIO_SET_IOMMU");
    iova = size; /* aligned to the size and never 0, as daxpin chooses it in the reported windows */
  } else {
    fprintf(stderr, "pinbench: unknown --interface %s\n", interface);
    exit(64);
  }
}

/* The timed calls: exactly what daxpin's ReadyPin makes. */
static int pin(void) {
  if (ring >= 0) {
    struct iovec iov = {buf, size};
    return (int)syscall(__NR_io_uring_register, ring, IORING_REGISTER_BUFFERS, &iov, 1);
  }
  struct vfio_iommu_type1_dma_map map = {.argsz = sizeof map, .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
                                         .vaddr = (uintptr_t)buf, .iova = iova, .size = size};
  return ioctl(container, VFIO_IOMMU_MAP_DMA, &map);
}
static int unpin(uint64_t *unpinned) {
  if (ring >= 0) {
    int r = (int)syscall(__NR_io_uring_register, ring, IORING_UNREGISTER_BUFFERS, NULL, 0);
    *unpinned = r == 0 ? size : 0;
    return r;
  }
  struct vfio_iommu_type1_dma_unmap unmap = {.argsz = sizeof unmap, .iova = iova, .size = size};
  int r = ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap);
  *unpinned = unmap.size;
  return r;
}

int main(int argc, char **argv) {
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--interface")) interface = argv[i + 1];
    else if (!strcmp(argv[i], "--memory")) memory = argv[i + 1];
    else if (!strcmp(argv[i], "--size")) size = strtoull(argv[i + 1], NULL, 0);
    else if (!strcmp(argv[i], "--iterations")) iterations = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--devdax")) devdax = argv[i + 1];
    else if (!strcmp(argv[i], "--vfio-group")) group = atoi(argv[i + 1]);
    else { fprintf(stderr, "pinbench: unknown option %s\n", argv[i]); return 64; }
  }
  if (argc % 2 == 0 || size == 0 || size % HUGE || iterations < 1) {
    fprintf(stderr, "usage: pinbench --interface I --memory M --size BYTES (a multiple of 2 MiB) --iterations N\n");
    return 64;
  }
  open_interface();
  prepare();
  uint64_t unpinned;
  if (pin()) die(1, "pin");
  if (unpin(&unpinned) || unpinned != size) die(1, "unpin");
  uint64_t *pins = calloc(iterations, sizeof *pins), *unpins = calloc(iterations, sizeof *unpins), total = 0;
  if (!pins || !unpins) die(2, "calloc");
  for (int i = 0; i < iterations; i++) {
    uint64_t t0 = now();
    int r = pin();
    uint64_t t1 = now();
    if (r) die(1, "pin");
    r = unpin(&unpinned);
    uint64_t t2 = now();
    if (r || unpinned != size) die(1, "unpin");
    pins[i] = t1 - t0;
    unpins[i] = t2 - t1;
    total += t2 - t0;
  }
  uint64_t pin_median = median(pins, iterations), pin_p99 = p99(pins, iterations), pin_min = pins[0];
  uint64_t unpin_median = median(unpins, iterations), unpin_min = unpins[0]; /* sorted by median() */
  printf("{\"interface\":\"%s\",\"memory\":\"%s\",\"bytes\":%zu,\"iterations\":%d,\"gib_per_s\":%.4f,"
         "\"pin_median_ns\":%llu,\"pin_p99_ns\":%llu,\"pin_min_ns\":%llu,\"unpin_median_ns\":%llu,\"unpin_min_ns\":%llu}\n",
         interface, memory, size, iterations, (double)size * iterations / (double)total * 1e9 / (double)(1UL << 30),
         (unsigned long long)pin_median, (unsigned long long)pin_p99, (unsigned long long)pin_min,
         (unsigned long long)unpin_median, (unsigned long long)unpin_min);
  return 0;
}
