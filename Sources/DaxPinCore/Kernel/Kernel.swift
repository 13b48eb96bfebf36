import SystemPackage

/// The seam between daxpin and a kernel: one requirement per kernel operation the probe makes.
///
/// `DaxPinLinux.LinuxKernel` implements it with real syscalls; the fake backend with a simulated
/// kernel. Every call returns the kernel's answer as a value or an `Errno` — nothing turns an
/// errno into a string before the report. The probe engine is written once, against this.
public protocol Kernel: Sendable {
  // MARK: files and directories

  /// `open(2)`. `create` adds `O_CREAT | O_EXCL` with mode 0600; `O_NOFOLLOW | O_CLOEXEC` always.
  func open(_ path: String, writable: Bool, create: Bool) -> Result<FileDescriptor, Errno>
  /// `close(2)`.
  func close(_ fd: FileDescriptor)
  /// `memfd_create(2)` with `MFD_CLOEXEC`.
  func memfdCreate(name: String) -> Result<FileDescriptor, Errno>
  /// `ftruncate(2)`.
  func truncate(_ fd: FileDescriptor, length: Int) -> Result<Void, Errno>
  /// `fallocate(2)` mode 0: allocate blocks so faults need none (EOPNOTSUPP where unsupported).
  func allocate(_ fd: FileDescriptor, length: Int) -> Result<Void, Errno>
  /// `mkdtemp(3)`: a new directory `<parent>/.daxpin-XXXXXX`, mode 0700; returns its path.
  func makeTemporaryDirectory(in parent: String) -> Result<String, Errno>
  /// `unlink(2)`.
  func unlink(_ path: String) -> Result<Void, Errno>
  /// `rmdir(2)`.
  func removeDirectory(_ path: String) -> Result<Void, Errno>
  /// `statx(2)` without following a final symlink.
  func status(_ path: String) -> Result<FileStatus, Errno>
  /// `statfs(2)` f_type.
  func filesystem(_ path: String) -> Result<FilesystemMagic, Errno>

  // MARK: memory

  /// `mmap(2)` of `length` bytes.
  func map(length: Int, protection: Protection, source: MappingSource) -> Result<Mapping, Errno>
  /// `munmap(2)`.
  func unmap(_ mapping: Mapping) -> Result<Void, Errno>
  /// `mprotect(2)`.
  func protect(_ mapping: Mapping, _ protection: Protection) -> Result<Void, Errno>
  /// Touches every page (`pageSize` apart) by reading or writing one byte, so every page is
  /// faulted in before a pin and an EFAULT can only be the kernel's policy.
  func fault(_ mapping: Mapping, pageSize: Int, write: Bool) -> Result<Void, Errno>
  /// The VMA holding `mapping.address`, from `/proc/self/smaps`.
  func vma(_ mapping: Mapping) -> Result<VMAInfo, Errno>
  /// `VmPin` and `VmLck` of this process; nil where /proc does not say.
  func pinAccounting() -> PinAccounting?

  // MARK: VFIO container and group

  /// `VFIO_GET_API_VERSION` on a container.
  func vfioAPIVersion(_ container: FileDescriptor) -> Result<Int32, Errno>
  /// `VFIO_CHECK_EXTENSION`: does the container support this IOMMU backend.
  func vfioCheckExtension(_ container: FileDescriptor, _ type: VFIOIOMMUType) -> Result<Bool, Errno>
  /// `VFIO_GROUP_GET_STATUS`.
  func vfioGroupStatus(_ group: FileDescriptor) -> Result<VFIOGroupStatus, Errno>
  /// `VFIO_GROUP_SET_CONTAINER`.
  func vfioGroupSetContainer(_ group: FileDescriptor, _ container: FileDescriptor) -> Result<Void, Errno>
  /// `VFIO_GROUP_UNSET_CONTAINER`.
  func vfioGroupUnsetContainer(_ group: FileDescriptor) -> Result<Void, Errno>
  /// `VFIO_GROUP_GET_DEVICE_FD`: opens a device of the group by name (`0000:00:03.0`). With
  /// iommufd's compat container this is what binds the device to the IOAS and gives it a domain.
  func vfioGroupGetDeviceFD(_ group: FileDescriptor, device: String) -> Result<FileDescriptor, Errno>
  /// `VFIO_SET_IOMMU`: attach the container's groups to an IOMMU domain of this backend.
  func vfioSetIOMMU(_ container: FileDescriptor, _ type: VFIOIOMMUType) -> Result<Void, Errno>
  /// `VFIO_IOMMU_GET_INFO`: IOVA windows, page sizes, DMA mappings available.
  func vfioIOMMUInfo(_ container: FileDescriptor) -> Result<VFIOIOMMUInfo, Errno>
  /// `VFIO_IOMMU_MAP_DMA`: pins the pages long-term and maps them at `iova`.
  func vfioMapDMA(_ container: FileDescriptor, _ mapping: DMAMapping) -> Result<Void, Errno>
  /// `VFIO_IOMMU_UNMAP_DMA`: returns the size the kernel unmapped.
  func vfioUnmapDMA(_ container: FileDescriptor, iova: UInt64, size: UInt64) -> Result<UInt64, Errno>

  // MARK: vfio device cdev and iommufd

  /// `VFIO_DEVICE_BIND_IOMMUFD`: returns the iommufd device id.
  func vfioDeviceBindIOMMUFD(_ device: FileDescriptor, iommufd: FileDescriptor) -> Result<UInt32, Errno>
  /// `VFIO_DEVICE_ATTACH_IOMMUFD_PT`: attach the device to an IOAS (creating its domain).
  func vfioDeviceAttachIOMMUFDPT(_ device: FileDescriptor, ptID: UInt32) -> Result<Void, Errno>
  /// `VFIO_DEVICE_DETACH_IOMMUFD_PT`.
  func vfioDeviceDetachIOMMUFDPT(_ device: FileDescriptor) -> Result<Void, Errno>
  /// `IOMMU_IOAS_ALLOC`: a new I/O address space; returns its id.
  func iommufdAllocIOAS(_ iommufd: FileDescriptor) -> Result<UInt32, Errno>
  /// `IOMMU_IOAS_IOVA_RANGES`.
  func iommufdIOVARanges(_ iommufd: FileDescriptor, ioas: UInt32) -> Result<[IOVARange], Errno>
  /// `IOMMU_IOAS_MAP` at a fixed IOVA: pins (when a domain is attached) and maps.
  func iommufdMap(_ iommufd: FileDescriptor, ioas: UInt32, _ mapping: DMAMapping) -> Result<Void, Errno>
  /// `IOMMU_IOAS_MAP_FILE` at a fixed IOVA: `mapping.vaddr` is the offset in `file`.
  func iommufdMapFile(_ iommufd: FileDescriptor, ioas: UInt32, file: FileDescriptor, _ mapping: DMAMapping)
    -> Result<Void, Errno>
  /// `IOMMU_IOAS_UNMAP`: returns the length the kernel unmapped.
  func iommufdUnmap(_ iommufd: FileDescriptor, ioas: UInt32, iova: UInt64, length: UInt64) -> Result<UInt64, Errno>
  /// `IOMMU_DESTROY`.
  func iommufdDestroy(_ iommufd: FileDescriptor, id: UInt32) -> Result<Void, Errno>

  // MARK: io_uring

  /// `io_uring_setup(2)`.
  func ioUringSetup(entries: UInt32) -> Result<FileDescriptor, Errno>
  /// `io_uring_register(IORING_REGISTER_BUFFERS)`: pins the buffers long-term.
  func ioUringRegisterBuffers(_ ring: FileDescriptor, _ buffers: [Mapping]) -> Result<Void, Errno>
  /// `io_uring_register(IORING_UNREGISTER_BUFFERS)`.
  func ioUringUnregisterBuffers(_ ring: FileDescriptor) -> Result<Void, Errno>

  // MARK: process

  /// SIGINT, SIGTERM or SIGHUP arrived since the probe started (the probe stops and cleans up).
  func interruptRequested() -> Bool
}
