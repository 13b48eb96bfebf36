import SystemPackage

/// The answer to one pin request, already undone (unmapped / unregistered) when it succeeded.
struct PinAttempt {
  var request: String
  /// The kernel's answer; nil when the request could not be made.
  var result: Result<Void, Errno>?
  /// Set when the tool could not complete the probe: no usable IOVA, or undoing a successful
  /// pin went wrong (unmapped size mismatch, unmap errno).
  var toolError: String?
  var pinnedKB: Int?
}

/// An open interface that can take long-term pins: a VFIO container with a group, an iommufd
/// IOAS with a device, or an io_uring instance. Opened once per interface, closed by `cleanup`.
protocol PinSession {
  /// Non-nil when a successful map through this session pins nothing (no IOMMU domain,
  /// noiommu, mdev-only): those cells are `not-exercised`, never `pinned`.
  var notExercisedReason: String? { get }
  /// Pins `memory`, records the answer, and undoes the pin before returning.
  func pin(_ memory: PreparedMemory, access: Access) -> PinAttempt
  /// True when a successful request registers the memory without pinning it (RDMA ODP): the
  /// cell is `on-demand` unless VmPin grew.
  var pinsOnDemand: Bool { get }
  /// Why this session cannot serve `access` (a device without ODP for it); nil when it can.
  func unavailable(for access: Access) -> SessionUnavailable?
}

extension PinSession {
  var pinsOnDemand: Bool { false }
  func unavailable(for access: Access) -> SessionUnavailable? { nil }
}

/// Why an interface cannot be opened here.
struct SessionUnavailable: Error {
  var outcome: Outcome
  var reason: String
  var hint: String?
}

extension Result where Failure == Errno {
  /// Turns a failed setup step into `SessionUnavailable`: ENOENT/ENOTTY/ENODEV mean absent.
  func orUnavailable(_ what: String, hint: String? = nil) throws -> Success {
    switch self {
    case .success(let v): return v
    case .failure(let e):
      let absent: Set<Errno> = [.noSuchFileOrDirectory, .inappropriateIOCTLForDevice, .operationNotSupportedByDevice]
      throw SessionUnavailable(outcome: absent.contains(e) ? .unsupported : .setupFailed, reason: "\(what): \(e.name)", hint: hint)
    }
  }
}

/// Picks an IOVA for `size` bytes inside the windows the IOMMU reports, aligned to `size`,
/// never 0, so an EINVAL from MAP can only come from the memory, not the address.
func chooseIOVA(in ranges: [IOVARange], size: UInt64) -> UInt64? {
  for r in ranges {
    let lowest = max(r.start, size)
    let iova = (lowest + size - 1) / size * size
    if iova >= lowest, iova <= r.last, r.last - iova >= size - 1 { return iova }
  }
  return nil
}

func hex(_ v: UInt64) -> String { "0x" + String(v, radix: 16) }

/// VmPin + VmLck growth between two readings.
func pinnedDelta(_ before: PinAccounting?, _ after: PinAccounting?) -> Int? {
  guard let before, let after else { return nil }
  return (after.pinnedKB - before.pinnedKB) + (after.lockedKB - before.lockedKB)
}
