/// An open RDMA device context (`struct ibv_context`) with a protection domain (`struct ibv_pd`),
/// as `Kernel.rdmaOpen` returns it.
public struct RDMAContext: Hashable, Sendable {
  /// Opaque to the engine: the backend's own reference to the context and its protection domain.
  public var handle: UInt
  /// The device's name in the kernel (`ibv_get_device_name`: `rxe0`, `mlx5_0`).
  public var device: String
  /// On-demand paging as `ibv_query_device_ex` reports it: `odp_caps`.
  public var odp: RDMAODPCapabilities
  public init(handle: UInt, device: String, odp: RDMAODPCapabilities) {
    self.handle = handle
    self.device = device
    self.odp = odp
  }
}

/// `struct ibv_odp_caps`: `general_caps` (`IBV_ODP_SUPPORT`, `IBV_ODP_SUPPORT_IMPLICIT`) and the
/// per-transport operation masks (`IBV_ODP_SUPPORT_SEND` …) for RC and UD.
public struct RDMAODPCapabilities: Hashable, Sendable {
  public var general: UInt64
  public var rc: UInt32
  public var ud: UInt32
  public init(general: UInt64 = 0, rc: UInt32 = 0, ud: UInt32 = 0) {
    self.general = general
    self.rc = rc
    self.ud = ud
  }
  public static let none = RDMAODPCapabilities()
  /// `IBV_ODP_SUPPORT`.
  public static let support: UInt64 = 1
  /// `IBV_ODP_SUPPORT_WRITE`, `IBV_ODP_SUPPORT_READ` in the per-transport masks.
  public static let write: UInt32 = 1 << 2
  public static let read: UInt32 = 1 << 3

  /// The device pages on demand for RC regions used with these accesses (remote read, and remote
  /// write for `rw`).
  public func supportsRC(_ access: Access) -> Bool {
    let needed = access == .rw ? Self.write | Self.read : Self.read
    return general & Self.support != 0 && rc & needed == needed
  }
  /// `general=0x1 rc=0xc` as the report prints it.
  public var description: String { "general_caps=0x\(String(general, radix: 16)) rc_odp_caps=0x\(String(rc, radix: 16))" }
}

/// `enum ibv_access_flags` bits a probe registers with.
public struct RDMAAccess: OptionSet, Hashable, Sendable {
  public var rawValue: Int32
  public init(rawValue: Int32) { self.rawValue = rawValue }
  /// `IBV_ACCESS_LOCAL_WRITE`.
  public static let localWrite = RDMAAccess(rawValue: 1)
  /// `IBV_ACCESS_REMOTE_WRITE`.
  public static let remoteWrite = RDMAAccess(rawValue: 1 << 1)
  /// `IBV_ACCESS_REMOTE_READ`.
  public static let remoteRead = RDMAAccess(rawValue: 1 << 2)
  /// `IBV_ACCESS_ON_DEMAND`.
  public static let onDemand = RDMAAccess(rawValue: 1 << 6)

  /// What the probe asks for: `rw` = LOCAL_WRITE | REMOTE_WRITE | REMOTE_READ, `ro` = REMOTE_READ.
  public static func probe(_ access: Access, onDemand: Bool) -> RDMAAccess {
    var a: RDMAAccess = access == .rw ? [.localWrite, .remoteWrite, .remoteRead] : [.remoteRead]
    if onDemand { a.insert(.onDemand) }
    return a
  }
  /// True when the region may be written (`ib_access_writable`): what makes ib_umem_get ask for FOLL_WRITE.
  public var writable: Bool { !isDisjoint(with: [.localWrite, .remoteWrite]) }
  /// `LOCAL_WRITE|REMOTE_WRITE|REMOTE_READ|ON_DEMAND`.
  public var names: String {
    [(RDMAAccess.localWrite, "LOCAL_WRITE"), (.remoteWrite, "REMOTE_WRITE"), (.remoteRead, "REMOTE_READ"), (.onDemand, "ON_DEMAND")]
      .filter { contains($0.0) }.map(\.1).joined(separator: "|")
  }
}

/// A registered memory region (`struct ibv_mr`).
public struct RDMAMemoryRegion: Hashable, Sendable {
  /// Opaque: the backend's reference to the region.
  public var handle: UInt
  /// `ibv_mr.lkey`.
  public var lkey: UInt32
  public init(handle: UInt, lkey: UInt32) {
    self.handle = handle
    self.lkey = lkey
  }
}
