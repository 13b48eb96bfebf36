import SystemPackage

/// An io_uring instance whose fixed buffers are registered with `IORING_REGISTER_BUFFERS`.
///
/// Registration pins every page of every buffer long-term with FOLL_WRITE (io_uring has no
/// read-only registration), charged to RLIMIT_MEMLOCK unless the caller has CAP_IPC_LOCK. It needs
/// no device, so it gives real answers on any Linux host.
struct IOUringSession: PinSession {
  let kernel: any Kernel
  let ring: FileDescriptor
  var notExercisedReason: String? { nil }

  /// Sets up a ring (one entry), telling an absent io_uring from a disabled one and from a
  /// resource limit by the errno `io_uring_setup` gives.
  static func open(kernel: any Kernel, cleanup: Cleanup) throws -> IOUringSession {
    switch kernel.ioUringSetup(entries: 1) {
    case .success(let ring):
      cleanup.add("close ring") { kernel.close(ring) }
      return IOUringSession(kernel: kernel, ring: ring)
    case .failure(let e):
      throw unavailable(e)
    }
  }

  static func unavailable(_ e: Errno) -> SessionUnavailable {
    switch e {
    case .noFunction:
      SessionUnavailable(outcome: .unsupported, reason: "io_uring_setup: ENOSYS: this kernel has no io_uring", hint: "a kernel with CONFIG_IO_URING")
    case .notPermitted, .permissionDenied:
      SessionUnavailable(
        outcome: .unsupported, reason: "io_uring_setup: \(e.name): io_uring is disabled for this process", hint: "sysctl kernel.io_uring_disabled=0")
    case .noMemory:
      SessionUnavailable(
        outcome: .resourceLimited, reason: "io_uring_setup: ENOMEM: the ring does not fit under RLIMIT_MEMLOCK",
        hint: "ulimit -l unlimited, or run with CAP_IPC_LOCK")
    case .tooManyOpenFiles, .tooManyOpenFilesInSystem:
      SessionUnavailable(outcome: .resourceLimited, reason: "io_uring_setup: \(e.name): no file descriptor left", hint: "raise ulimit -n")
    default:
      SessionUnavailable(outcome: .setupFailed, reason: "io_uring_setup: \(e.name)")
    }
  }

  func ready(_ memory: PreparedMemory, access: Access) -> Result<ReadyPin, PinNotReady> {
    let (kernel, ring, buffers, size) = (kernel, ring, [memory.mapping], UInt64(memory.mapping.length))
    return .success(
      ReadyPin(
        request: "IORING_REGISTER_BUFFERS iov_len=\(hex(size))", size: size,
        pin: { kernel.ioUringRegisterBuffers(ring, buffers) },
        unpin: { kernel.ioUringUnregisterBuffers(ring).map { size } }, unpinName: "IORING_UNREGISTER_BUFFERS"))
  }
}
