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

  static func open(kernel: any Kernel, available: Bool, error: String?, cleanup: Cleanup) throws -> IOUringSession {
    guard available else {
      throw SessionUnavailable(
        outcome: .unsupported, reason: "io_uring_setup fails here (\(error ?? "unknown"))",
        hint: "sysctl kernel.io_uring_disabled=0, or a kernel with CONFIG_IO_URING")
    }
    let ring = try kernel.ioUringSetup(entries: 1).orUnavailable("io_uring_setup")
    cleanup.add("close ring") { kernel.close(ring) }
    return IOUringSession(kernel: kernel, ring: ring)
  }

  func pin(_ memory: PreparedMemory, access: Access) -> PinAttempt {
    let request = "IORING_REGISTER_BUFFERS iov_len=\(hex(UInt64(memory.mapping.length)))"
    let before = kernel.pinAccounting()
    let result = kernel.ioUringRegisterBuffers(ring, [memory.mapping])
    guard case .success = result else { return PinAttempt(request: request, result: result) }
    let delta = pinnedDelta(before, kernel.pinAccounting())
    if case .failure(let e) = kernel.ioUringUnregisterBuffers(ring) {
      return PinAttempt(request: request, result: result, toolError: "IORING_UNREGISTER_BUFFERS: \(e.name)", pinnedKB: delta)
    }
    return PinAttempt(request: request, result: result, pinnedKB: delta)
  }
}
