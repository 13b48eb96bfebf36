import Synchronization
import SystemPackage

/// A decorator for any `Kernel` — the real one or the fake — that records every call in order,
/// fails the Nth use of a chosen call with a chosen errno, raises a simulated signal after N
/// calls, and keeps the books on what is held (descriptors, mappings, files and directories
/// created and not yet removed), so a test can prove that a run released everything.
public final class RecordingKernel: Kernel {
  struct Injection {
    var call: KernelCall
    var nth: Int
    var errno: Errno
  }
  struct State {
    var trace: [KernelCall] = []
    var uses: [KernelCall: Int] = [:]
    var injections: [Injection] = []
    var signalAfterCalls: Int?
    var hooks: [KernelCall: @Sendable () -> Void] = [:]
    var fds: Set<CInt> = []
    var mappings: Set<Mapping> = []
    var created = 0
    /// RDMA contexts and memory regions open.
    var rdma: Set<UInt> = []
    /// Truncate-held holds begun and not yet ended.
    var pageHolds = 0
    /// Holds nobody ended: deallocated still holding.
    var droppedHolds = 0
  }

  public let base: any Kernel
  let state = Mutex(State())

  public init(_ base: any Kernel) { self.base = base }

  /// Fails the `nth` use (1-based) of `call` with `errno`, without reaching the kernel.
  public func inject(_ call: KernelCall, onUse nth: Int, errno: Errno) {
    state.withLock { $0.injections.append(Injection(call: call, nth: nth, errno: errno)) }
  }
  /// Runs `action` right after each successful `call`: a test plays another user who changes
  /// the filesystem between two of daxpin's steps.
  public func after(_ call: KernelCall, _ action: @escaping @Sendable () -> Void) {
    state.withLock { $0.hooks[call] = action }
  }
  /// Makes `pendingSignal()` answer SIGINT from the `n`th recorded call on.
  public func interrupt(afterCalls n: Int) { state.withLock { $0.signalAfterCalls = n } }

  /// Truncate-held holds that were deallocated without being released or abandoned.
  public var droppedHolds: Int { state.withLock { $0.droppedHolds } }
  /// Every call made so far, in order.
  public var trace: [KernelCall] { state.withLock { $0.trace } }
  /// Descriptors open, mappings live, and files or directories created and not removed.
  public var held: Held {
    state.withLock { Held(fds: $0.fds.count, mappings: $0.mappings.count, created: $0.created, rdma: $0.rdma.count, pageHolds: $0.pageHolds) }
  }

  public struct Held: Equatable, Sendable, CustomStringConvertible {
    public var fds: Int, mappings: Int, created: Int
    /// RDMA device contexts and memory regions not yet closed or deregistered.
    public var rdma: Int
    /// Truncate-held holds (pipes holding pages) not yet released.
    public var pageHolds: Int
    public init(fds: Int, mappings: Int, created: Int, rdma: Int = 0, pageHolds: Int = 0) {
      self.fds = fds
      self.mappings = mappings
      self.created = created
      self.rdma = rdma
      self.pageHolds = pageHolds
    }
    public static let nothing = Held(fds: 0, mappings: 0, created: 0)
    public var description: String {
      "\(fds) fds, \(mappings) mappings, \(created) files or directories" + (rdma == 0 ? "" : ", \(rdma) RDMA objects")
        + (pageHolds == 0 ? "" : ", \(pageHolds) truncate-held holds")
    }
  }

  /// Records `call`; returns the injected errno when this use is the one to fail.
  private func enter(_ call: KernelCall) -> Errno? {
    state.withLock { s in
      s.trace.append(call)
      s.uses[call, default: 0] += 1
      let n = s.uses[call]!
      return s.injections.first { $0.call == call && $0.nth == n }?.errno
    }
  }
  private func call<T>(_ c: KernelCall, _ body: () -> Result<T, Errno>) -> Result<T, Errno> {
    if let e = enter(c) { return .failure(e) }
    let r = body()
    if case .success = r, let hook = state.withLock({ $0.hooks[c] }) { hook() }
    return r
  }
  private func opening(_ c: KernelCall, _ body: () -> Result<FileDescriptor, Errno>) -> Result<FileDescriptor, Errno> {
    let r = call(c, body)
    if case .success(let fd) = r { _ = state.withLock { $0.fds.insert(fd.rawValue) } }
    return r
  }

  // MARK: files

  public func open(_ path: String, in directory: FileDescriptor?, writable: Bool, create: Bool) -> Result<FileDescriptor, Errno> {
    let r = opening(.open) { base.open(path, in: directory, writable: writable, create: create) }
    if create, case .success = r { state.withLock { $0.created += 1 } }
    return r
  }
  public func openDirectory(_ path: String, in directory: FileDescriptor?) -> Result<FileDescriptor, Errno> {
    opening(.openDirectory) { base.openDirectory(path, in: directory) }
  }
  public func close(_ fd: FileDescriptor) {
    state.withLock { s in
      s.trace.append(.close)
      s.fds.remove(fd.rawValue)
    }
    base.close(fd)
  }
  public func makeDirectory(_ name: String, in directory: FileDescriptor) -> Result<Void, Errno> {
    let r = call(.makeDirectory) { base.makeDirectory(name, in: directory) }
    if case .success = r { state.withLock { $0.created += 1 } }
    return r
  }
  public func unlink(_ name: String, in directory: FileDescriptor, directory isDirectory: Bool) -> Result<Void, Errno> {
    let r = call(.unlink) { base.unlink(name, in: directory, directory: isDirectory) }
    if case .success = r { state.withLock { $0.created -= 1 } }
    return r
  }
  public func entries(_ directory: FileDescriptor) -> Result<[String], Errno> { call(.entries) { base.entries(directory) } }
  public func lock(_ directory: FileDescriptor) -> Result<Void, Errno> { call(.lock) { base.lock(directory) } }
  public func memfdCreate(name: String) -> Result<FileDescriptor, Errno> { opening(.memfdCreate) { base.memfdCreate(name: name) } }
  public func truncate(_ fd: FileDescriptor, length: Int) -> Result<Void, Errno> { call(.truncate) { base.truncate(fd, length: length) } }
  public func allocate(_ fd: FileDescriptor, length: Int) -> Result<Void, Errno> { call(.allocate) { base.allocate(fd, length: length) } }
  public func status(_ path: String) -> Result<FileStatus, Errno> { call(.status) { base.status(path) } }
  public func status(of fd: FileDescriptor) -> Result<FileStatus, Errno> { call(.statusOfFD) { base.status(of: fd) } }
  public func filesystem(_ path: String) -> Result<FilesystemInfo, Errno> { call(.filesystem) { base.filesystem(path) } }
  public func setDAXFlag(_ directory: FileDescriptor) -> Result<Void, Errno> { call(.setDAXFlag) { base.setDAXFlag(directory) } }
  public func characterDevice(_ path: String) -> Result<CharacterDevice, Errno> { call(.characterDevice) { base.characterDevice(path) } }

  // MARK: memory

  public func map(length: Int, protection: Protection, source: MappingSource) -> Result<Mapping, Errno> {
    let r = call(.map) { base.map(length: length, protection: protection, source: source) }
    if case .success(let m) = r { _ = state.withLock { $0.mappings.insert(m) } }
    return r
  }
  public func unmap(_ mapping: Mapping) -> Result<Void, Errno> {
    state.withLock { s in
      s.trace.append(.unmap)
      s.mappings.remove(mapping)
    }
    return base.unmap(mapping)
  }
  public func protect(_ m: Mapping, _ p: Protection) -> Result<Void, Errno> { call(.protect) { base.protect(m, p) } }
  public func fault(_ m: Mapping, pageSize: Int, write: Bool) -> Result<Void, Errno> {
    call(.fault) { base.fault(m, pageSize: pageSize, write: write) }
  }
  public func vma(_ m: Mapping) -> Result<VMAInfo, Errno> { call(.vma) { base.vma(m) } }
  public func pinAccounting() -> PinAccounting? { base.pinAccounting() }
  public func advise(_ m: Mapping, _ advice: MemoryAdvice) -> Result<Void, Errno> { call(.advise) { base.advise(m, advice) } }
  public func memoryAvailable() -> Int? { base.memoryAvailable() }

  // MARK: VFIO

  public func vfioAPIVersion(_ c: FileDescriptor) -> Result<Int32, Errno> { call(.vfioAPIVersion) { base.vfioAPIVersion(c) } }
  public func vfioCheckExtension(_ c: FileDescriptor, _ t: VFIOIOMMUType) -> Result<Bool, Errno> {
    call(.vfioCheckExtension) { base.vfioCheckExtension(c, t) }
  }
  public func vfioGroupStatus(_ g: FileDescriptor) -> Result<VFIOGroupStatus, Errno> { call(.vfioGroupStatus) { base.vfioGroupStatus(g) } }
  public func vfioGroupSetContainer(_ g: FileDescriptor, _ c: FileDescriptor) -> Result<Void, Errno> {
    call(.vfioGroupSetContainer) { base.vfioGroupSetContainer(g, c) }
  }
  public func vfioGroupUnsetContainer(_ g: FileDescriptor) -> Result<Void, Errno> {
    call(.vfioGroupUnsetContainer) { base.vfioGroupUnsetContainer(g) }
  }
  public func vfioGroupGetDeviceFD(_ g: FileDescriptor, device: String) -> Result<FileDescriptor, Errno> {
    opening(.vfioGroupGetDeviceFD) { base.vfioGroupGetDeviceFD(g, device: device) }
  }
  public func vfioSetIOMMU(_ c: FileDescriptor, _ t: VFIOIOMMUType) -> Result<Void, Errno> { call(.vfioSetIOMMU) { base.vfioSetIOMMU(c, t) } }
  public func vfioIOMMUInfo(_ c: FileDescriptor) -> Result<VFIOIOMMUInfo, Errno> { call(.vfioIOMMUInfo) { base.vfioIOMMUInfo(c) } }
  public func vfioMapDMA(_ c: FileDescriptor, _ m: DMAMapping) -> Result<Void, Errno> { call(.vfioMapDMA) { base.vfioMapDMA(c, m) } }
  public func vfioUnmapDMA(_ c: FileDescriptor, iova: UInt64, size: UInt64) -> Result<UInt64, Errno> {
    call(.vfioUnmapDMA) { base.vfioUnmapDMA(c, iova: iova, size: size) }
  }

  // MARK: vfio cdev + iommufd

  public func vfioDeviceBindIOMMUFD(_ d: FileDescriptor, iommufd: FileDescriptor) -> Result<UInt32, Errno> {
    call(.vfioDeviceBindIOMMUFD) { base.vfioDeviceBindIOMMUFD(d, iommufd: iommufd) }
  }
  public func vfioDeviceAttachIOMMUFDPT(_ d: FileDescriptor, ptID: UInt32) -> Result<Void, Errno> {
    call(.vfioDeviceAttachIOMMUFDPT) { base.vfioDeviceAttachIOMMUFDPT(d, ptID: ptID) }
  }
  public func vfioDeviceDetachIOMMUFDPT(_ d: FileDescriptor) -> Result<Void, Errno> {
    call(.vfioDeviceDetachIOMMUFDPT) { base.vfioDeviceDetachIOMMUFDPT(d) }
  }
  public func iommufdAllocIOAS(_ fd: FileDescriptor) -> Result<UInt32, Errno> { call(.iommufdAllocIOAS) { base.iommufdAllocIOAS(fd) } }
  public func iommufdIOVARanges(_ fd: FileDescriptor, ioas: UInt32) -> Result<[IOVARange], Errno> {
    call(.iommufdIOVARanges) { base.iommufdIOVARanges(fd, ioas: ioas) }
  }
  public func iommufdMap(_ fd: FileDescriptor, ioas: UInt32, _ m: DMAMapping) -> Result<Void, Errno> {
    call(.iommufdMap) { base.iommufdMap(fd, ioas: ioas, m) }
  }
  public func iommufdMapFile(_ fd: FileDescriptor, ioas: UInt32, file: FileDescriptor, _ m: DMAMapping) -> Result<Void, Errno> {
    call(.iommufdMapFile) { base.iommufdMapFile(fd, ioas: ioas, file: file, m) }
  }
  public func iommufdUnmap(_ fd: FileDescriptor, ioas: UInt32, iova: UInt64, length: UInt64) -> Result<UInt64, Errno> {
    call(.iommufdUnmap) { base.iommufdUnmap(fd, ioas: ioas, iova: iova, length: length) }
  }
  public func iommufdDestroy(_ fd: FileDescriptor, id: UInt32) -> Result<Void, Errno> { call(.iommufdDestroy) { base.iommufdDestroy(fd, id: id) } }

  // MARK: io_uring

  public func ioUringSetup(entries: UInt32) -> Result<FileDescriptor, Errno> { opening(.ioUringSetup) { base.ioUringSetup(entries: entries) } }
  public func ioUringRegisterBuffers(_ ring: FileDescriptor, _ b: [Mapping]) -> Result<Void, Errno> {
    call(.ioUringRegisterBuffers) { base.ioUringRegisterBuffers(ring, b) }
  }
  public func ioUringUnregisterBuffers(_ ring: FileDescriptor) -> Result<Void, Errno> {
    call(.ioUringUnregisterBuffers) { base.ioUringUnregisterBuffers(ring) }
  }

  // MARK: RDMA and AF_XDP

  public func rdmaOpen() -> Result<RDMAContext, Errno> {
    let r = call(.rdmaOpen) { base.rdmaOpen() }
    if case .success(let c) = r { _ = state.withLock { $0.rdma.insert(c.handle) } }
    return r
  }
  public func rdmaRegisterMR(_ c: RDMAContext, _ m: Mapping, access: RDMAAccess) -> Result<RDMAMemoryRegion, Errno> {
    let r = call(.rdmaRegisterMR) { base.rdmaRegisterMR(c, m, access: access) }
    if case .success(let mr) = r { _ = state.withLock { $0.rdma.insert(mr.handle) } }
    return r
  }
  public func rdmaDeregisterMR(_ mr: RDMAMemoryRegion) -> Result<Void, Errno> {
    state.withLock { s in
      s.trace.append(.rdmaDeregisterMR)
      s.rdma.remove(mr.handle)
    }
    return base.rdmaDeregisterMR(mr)
  }
  public func rdmaClose(_ c: RDMAContext) {
    state.withLock { s in
      s.trace.append(.rdmaClose)
      s.rdma.remove(c.handle)
    }
    base.rdmaClose(c)
  }
  public func xdpSocket() -> Result<FileDescriptor, Errno> { opening(.xdpSocket) { base.xdpSocket() } }
  public func xdpRegisterUMEM(_ s: FileDescriptor, _ m: Mapping, chunkSize: UInt32) -> Result<Void, Errno> {
    call(.xdpRegisterUMEM) { base.xdpRegisterUMEM(s, m, chunkSize: chunkSize) }
  }

  // MARK: page frames, movable memory, truncate under a held page

  public func bindMemory(_ m: Mapping, node: Int) -> Result<Void, Errno> { call(.bindMemory) { base.bindMemory(m, node: node) } }
  public func pageFrames(_ m: Mapping) -> Result<[UInt64?], Errno> { call(.pageFrames) { base.pageFrames(m) } }
  public func frameLocations(_ frames: [UInt64]) -> Result<[FrameLocation], Errno> { call(.frameLocations) { base.frameLocations(frames) } }
  /// One recorded use of `.truncateUnderHeldPages` per target, so an injection fails that
  /// target alone; the others reach the base kernel together, as one hold. A hold counts in
  /// `held` until it ends, which is recorded as `.releaseHeldPages` (and, when nobody ended it
  /// and it was deallocated, in `droppedHolds`).
  public func holdPagesAndTruncate(_ targets: [HeldTruncateTarget], holdMs: Int) -> HeldTruncateHold {
    let injected = targets.map { _ in enter(.truncateUnderHeldPages) }
    let reaching = targets.indices.filter { injected[$0] == nil }
    let hold = reaching.isEmpty ? nil : base.holdPagesAndTruncate(reaching.map { targets[$0] }, holdMs: holdMs)
    state.withLock { $0.pageHolds += 1 }
    return HeldTruncateHold { [self] ending in
      _ = enter(.releaseHeldPages)
      state.withLock {
        $0.pageHolds -= 1
        if ending == .dropped { $0.droppedHolds += 1 }
      }
      guard case .released(let waitMs) = ending else {
        hold?.abandon()
        return []
      }
      var answers = hold?.release(waitMs: waitMs) ?? []
      answers.reverse()
      let results: [Result<HeldTruncate, Errno>] = injected.map { e in e.map { .failure($0) } ?? answers.removeLast() }
      if results.contains(where: { if case .success = $0 { true } else { false } }), let hook = state.withLock({ $0.hooks[.truncateUnderHeldPages] }) { hook() }
      return results
    }
  }

  // MARK: process

  public func currentProcess() -> ProcessIdentity { base.currentProcess() }
  public func processStartTime(_ pid: Int32) -> Result<UInt64, Errno> { call(.processStartTime) { base.processStartTime(pid) } }
  public func pendingSignal() -> Int32? {
    let simulated = state.withLock { s in s.signalAfterCalls.map { s.trace.count >= $0 } ?? false }
    return simulated ? 2 : base.pendingSignal()
  }
  public func raise(_ signal: Int32) { base.raise(signal) }
  public func descriptorHeadroom() -> Int? { base.descriptorHeadroom() }
}
