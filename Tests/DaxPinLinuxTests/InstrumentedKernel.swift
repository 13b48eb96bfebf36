import DaxPinCore
import DaxPinLinux
import Glibc
import Synchronization
import SystemPackage

/// The real kernel, instrumented: counts every acquiring call, can fail the Nth one with a chosen
/// errno, and keeps the books on what is held (fds, mappings, directories, files) so a test can
/// prove that the probe released everything. With `vfio` set, the VFIO / iommufd ioctls (which
/// this machine's kernel lacks) are answered by a minimal device model instead.
final class InstrumentedKernel: Kernel {
  struct VFIOModel: Sendable {
    var viable = true
    var groupOpenErrno: Errno? = nil
    var mapErrno: Errno? = nil
  }

  struct State {
    var calls: [String] = []
    var failAt: Int? = nil
    var failWith: Errno = .ioError
    var interruptAtCall: Int? = nil
    var fds: Set<CInt> = []
    var mappings: Set<Mapping> = []
    var directories: Set<String> = []
    var files: Set<String> = []
  }

  let real = LinuxKernel()
  let vfio: VFIOModel?
  let state = Mutex(State())

  init(vfio: VFIOModel? = nil, failAt: Int? = nil, failWith: Errno = .ioError, interruptAtCall: Int? = nil) {
    self.vfio = vfio
    state.withLock {
      $0.failAt = failAt
      $0.failWith = failWith
      $0.interruptAtCall = interruptAtCall
    }
  }

  var calls: [String] { state.withLock { $0.calls } }
  var held: (fds: Int, mappings: Int, directories: Int, files: Int) {
    state.withLock { ($0.fds.count, $0.mappings.count, $0.directories.count, $0.files.count) }
  }

  /// Records an acquiring call; returns the injected errno when this is the call to fail.
  private func enter(_ name: String) -> Errno? {
    state.withLock { s in
      s.calls.append(name)
      return s.calls.count == s.failAt ? s.failWith : nil
    }
  }

  private func acquire<T>(_ name: String, _ body: () -> Result<T, Errno>) -> Result<T, Errno> {
    if let e = enter(name) { return .failure(e) }
    return body()
  }

  private func track(_ r: Result<FileDescriptor, Errno>) -> Result<FileDescriptor, Errno> {
    if case .success(let fd) = r { _ = state.withLock { $0.fds.insert(fd.rawValue) } }
    return r
  }

  /// An fd for a modelled VFIO node: a real open of /dev/null, so close() is real too.
  private func modelFD() -> Result<FileDescriptor, Errno> {
    track(real.open("/dev/null", writable: true, create: false))
  }

  func open(_ path: String, writable: Bool, create: Bool) -> Result<FileDescriptor, Errno> {
    acquire("open") {
      if vfio != nil && (path.hasPrefix("/dev/vfio") || path == "/dev/iommu") {
        if path.hasPrefix("/dev/vfio/") && path != "/dev/vfio/vfio" && !path.contains("devices"), let e = vfio?.groupOpenErrno {
          return .failure(e)
        }
        return modelFD()
      }
      let r = track(real.open(path, writable: writable, create: create))
      if create, case .success = r { _ = state.withLock { $0.files.insert(path) } }
      return r
    }
  }
  func close(_ fd: FileDescriptor) {
    _ = state.withLock { $0.fds.remove(fd.rawValue) }
    real.close(fd)
  }
  func memfdCreate(name: String) -> Result<FileDescriptor, Errno> { acquire("memfd_create") { track(real.memfdCreate(name: name)) } }
  func truncate(_ fd: FileDescriptor, length: Int) -> Result<Void, Errno> { acquire("ftruncate") { real.truncate(fd, length: length) } }
  func allocate(_ fd: FileDescriptor, length: Int) -> Result<Void, Errno> { acquire("fallocate") { real.allocate(fd, length: length) } }
  func makeTemporaryDirectory(in parent: String) -> Result<String, Errno> {
    acquire("mkdtemp") {
      let r = real.makeTemporaryDirectory(in: parent)
      if case .success(let d) = r { _ = state.withLock { $0.directories.insert(d) } }
      return r
    }
  }
  func unlink(_ path: String) -> Result<Void, Errno> {
    _ = state.withLock { $0.files.remove(path) }
    return real.unlink(path)
  }
  func removeDirectory(_ path: String) -> Result<Void, Errno> {
    let r = real.removeDirectory(path)
    if case .success = r { _ = state.withLock { $0.directories.remove(path) } }
    return r
  }
  func status(_ path: String) -> Result<FileStatus, Errno> { acquire("statx") { real.status(path) } }
  func filesystem(_ path: String) -> Result<FilesystemMagic, Errno> { acquire("statfs") { real.filesystem(path) } }
  func map(length: Int, protection: Protection, source: MappingSource) -> Result<Mapping, Errno> {
    acquire("mmap") {
      let r = real.map(length: length, protection: protection, source: source)
      if case .success(let m) = r { _ = state.withLock { $0.mappings.insert(m) } }
      return r
    }
  }
  func unmap(_ m: Mapping) -> Result<Void, Errno> {
    _ = state.withLock { $0.mappings.remove(m) }
    return real.unmap(m)
  }
  func protect(_ m: Mapping, _ p: Protection) -> Result<Void, Errno> { acquire("mprotect") { real.protect(m, p) } }
  func fault(_ m: Mapping, pageSize: Int, write: Bool) -> Result<Void, Errno> { acquire("fault") { real.fault(m, pageSize: pageSize, write: write) } }
  func vma(_ m: Mapping) -> Result<VMAInfo, Errno> { acquire("smaps") { real.vma(m) } }
  func pinAccounting() -> PinAccounting? { real.pinAccounting() }

  private func modelled<T>(_ name: String, _ value: T) -> Result<T, Errno> {
    acquire(name) { vfio == nil ? .failure(.inappropriateIOCTLForDevice) : .success(value) }
  }
  func vfioAPIVersion(_ c: FileDescriptor) -> Result<Int32, Errno> { modelled("VFIO_GET_API_VERSION", 0) }
  func vfioCheckExtension(_ c: FileDescriptor, _ t: VFIOIOMMUType) -> Result<Bool, Errno> { modelled("VFIO_CHECK_EXTENSION", true) }
  func vfioGroupStatus(_ g: FileDescriptor) -> Result<VFIOGroupStatus, Errno> {
    modelled("VFIO_GROUP_GET_STATUS", VFIOGroupStatus(viable: vfio?.viable ?? false, containerSet: false))
  }
  func vfioGroupSetContainer(_ g: FileDescriptor, _ c: FileDescriptor) -> Result<Void, Errno> { modelled("VFIO_GROUP_SET_CONTAINER", ()) }
  func vfioGroupUnsetContainer(_ g: FileDescriptor) -> Result<Void, Errno> { .success(()) }
  func vfioGroupGetDeviceFD(_ g: FileDescriptor, device: String) -> Result<FileDescriptor, Errno> {
    acquire("VFIO_GROUP_GET_DEVICE_FD") { vfio == nil ? .failure(.inappropriateIOCTLForDevice) : modelFD() }
  }
  func vfioSetIOMMU(_ c: FileDescriptor, _ t: VFIOIOMMUType) -> Result<Void, Errno> { modelled("VFIO_SET_IOMMU", ()) }
  func vfioIOMMUInfo(_ c: FileDescriptor) -> Result<VFIOIOMMUInfo, Errno> {
    modelled("VFIO_IOMMU_GET_INFO", VFIOIOMMUInfo(ranges: [IOVARange(start: 0, last: 0xfedf_ffff)], pageSizes: 0x4000_1000, dmaAvailable: 65535))
  }
  func vfioMapDMA(_ c: FileDescriptor, _ m: DMAMapping) -> Result<Void, Errno> {
    acquire("VFIO_IOMMU_MAP_DMA") { vfio?.mapErrno.map { .failure($0) } ?? .success(()) }
  }
  func vfioUnmapDMA(_ c: FileDescriptor, iova: UInt64, size: UInt64) -> Result<UInt64, Errno> { .success(size) }
  func vfioDeviceBindIOMMUFD(_ d: FileDescriptor, iommufd: FileDescriptor) -> Result<UInt32, Errno> { modelled("VFIO_DEVICE_BIND_IOMMUFD", 1) }
  func vfioDeviceAttachIOMMUFDPT(_ d: FileDescriptor, ptID: UInt32) -> Result<Void, Errno> { modelled("VFIO_DEVICE_ATTACH_IOMMUFD_PT", ()) }
  func vfioDeviceDetachIOMMUFDPT(_ d: FileDescriptor) -> Result<Void, Errno> { .success(()) }
  func iommufdAllocIOAS(_ fd: FileDescriptor) -> Result<UInt32, Errno> { modelled("IOMMU_IOAS_ALLOC", 2) }
  func iommufdIOVARanges(_ fd: FileDescriptor, ioas: UInt32) -> Result<[IOVARange], Errno> {
    modelled("IOMMU_IOAS_IOVA_RANGES", [IOVARange(start: 0, last: 0xfedf_ffff)])
  }
  func iommufdMap(_ fd: FileDescriptor, ioas: UInt32, _ m: DMAMapping) -> Result<Void, Errno> { modelled("IOMMU_IOAS_MAP", ()) }
  func iommufdMapFile(_ fd: FileDescriptor, ioas: UInt32, file: FileDescriptor, _ m: DMAMapping) -> Result<Void, Errno> {
    modelled("IOMMU_IOAS_MAP_FILE", ())
  }
  func iommufdUnmap(_ fd: FileDescriptor, ioas: UInt32, iova: UInt64, length: UInt64) -> Result<UInt64, Errno> { .success(length) }
  func iommufdDestroy(_ fd: FileDescriptor, id: UInt32) -> Result<Void, Errno> { .success(()) }
  func ioUringSetup(entries: UInt32) -> Result<FileDescriptor, Errno> { acquire("io_uring_setup") { track(real.ioUringSetup(entries: entries)) } }
  func ioUringRegisterBuffers(_ ring: FileDescriptor, _ b: [Mapping]) -> Result<Void, Errno> {
    acquire("IORING_REGISTER_BUFFERS") { real.ioUringRegisterBuffers(ring, b) }
  }
  func ioUringUnregisterBuffers(_ ring: FileDescriptor) -> Result<Void, Errno> { real.ioUringUnregisterBuffers(ring) }
  func interruptRequested() -> Bool {
    state.withLock { s in s.interruptAtCall.map { s.calls.count >= $0 } ?? false }
  }
}
