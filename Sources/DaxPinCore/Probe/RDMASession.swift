import SystemPackage

/// The first RDMA device's context and protection domain, whose memory regions are registered with
/// `ibv_reg_mr` (libibverbs, through `Kernel.rdmaRegisterMR`).
///
/// `rdma`: `ib_umem_get` pins the region's pages long-term with FOLL_LONGTERM (pin_user_pages_fast),
/// charged to `mm->pinned_vm` (VmPin). `rdma-odp`: `IBV_ACCESS_ON_DEMAND`; `ib_umem_odp_get` takes
/// no page reference, the device faults pages in and MMU notifiers invalidate them, so a successful
/// registration is `on-demand`, never `pinned` — unless VmPin grew, which is then reported.
struct RDMASession: PinSession {
  let kernel: any Kernel
  let context: RDMAContext
  let onDemand: Bool
  var notExercisedReason: String? { nil }
  var pinsOnDemand: Bool { onDemand }

  static let setupHint = "modprobe rdma_rxe; rdma link add rxe0 type rxe netdev IFACE (soft-RoCE over any netdev, a dummy one will do)"

  static func open(kernel: any Kernel, onDemand: Bool, cleanup: Cleanup) throws -> RDMASession {
    switch kernel.rdmaOpen() {
    case .success(let c):
      cleanup.add("ibv_close_device") { kernel.rdmaClose(c) }
      if onDemand && c.odp.general & RDMAODPCapabilities.support == 0 {
        throw SessionUnavailable(
          outcome: .unsupported, reason: "\(c.device) reports no on-demand paging (ibv_query_device_ex: \(c.odp.description))",
          hint: "ODP needs a driver that reports IBV_ODP_SUPPORT (ibv_devinfo -v, odp_caps); otherwise register pinned regions on device-DAX")
      }
      return RDMASession(kernel: kernel, context: c, onDemand: onDemand)
    case .failure(let e):
      throw unavailable(e)
    }
  }

  static func unavailable(_ e: Errno) -> SessionUnavailable {
    switch e {
    case .libraryNotAccessible:
      SessionUnavailable(
        outcome: .unsupported, reason: "libibverbs.so.1 cannot be loaded", hint: "apt-get install libibverbs1 ibverbs-providers")
    case .operationNotSupportedByDevice, .noSuchFileOrDirectory:
      SessionUnavailable(outcome: .unsupported, reason: "no RDMA device: ibv_get_device_list found none", hint: setupHint)
    case .permissionDenied, .notPermitted:
      SessionUnavailable(outcome: .unsupported, reason: "ibv_open_device: \(e.name): /dev/infiniband/uverbs* is not open to this user", hint: "run as root")
    default:
      SessionUnavailable(outcome: .setupFailed, reason: "ibv_open_device: \(e.name)")
    }
  }

  func unavailable(for access: Access) -> SessionUnavailable? {
    guard onDemand, !context.odp.supportsRC(access) else { return nil }
    return SessionUnavailable(
      outcome: .unsupported,
      reason: "\(context.device) does not page RC regions on demand for \(RDMAAccess.probe(access, onDemand: false).names) (\(context.odp.description))",
      hint: "ODP needs IBV_ODP_SUPPORT_READ (and _WRITE for rw) in rc_odp_caps")
  }

  /// `ibv_reg_mr` and its undo `ibv_dereg_mr`, the registered region kept between the two.
  func ready(_ memory: PreparedMemory, access: Access) -> Result<ReadyPin, PinNotReady> {
    let flags = RDMAAccess.probe(access, onDemand: onDemand)
    let size = UInt64(memory.mapping.length)
    let (kernel, context, mapping) = (self.kernel, self.context, memory.mapping)
    let registered = Registered()
    return .success(
      ReadyPin(
        request: "ibv_reg_mr \(context.device) length=\(hex(size)) \(flags.names)", size: size,
        pin: {
          kernel.rdmaRegisterMR(context, mapping, access: flags).map { registered.region = $0 }
        },
        unpin: {
          guard let region = registered.region else { return .success(0) }
          registered.region = nil
          return kernel.rdmaDeregisterMR(region).map { size }
        },
        unpinName: "ibv_dereg_mr"))
  }

  /// The memory region between `ibv_reg_mr` and `ibv_dereg_mr`.
  private final class Registered {
    var region: RDMAMemoryRegion?
  }
}
