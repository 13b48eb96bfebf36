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

/// A pin request made ready once: the kernel call and its undo with every argument computed
/// beforehand, so the probe makes it once and `daxpin bench` times it in a loop — the calls and
/// nothing else (no IOVA search, no string, no allocation inside).
struct ReadyPin {
  /// The request in the kernel's words (`VFIO_IOMMU_MAP_DMA iova=… size=… READ|WRITE`).
  var request: String
  /// Bytes the request pins.
  var size: UInt64
  /// `VFIO_IOMMU_MAP_DMA`, `IOMMU_IOAS_MAP`, `IOMMU_IOAS_MAP_FILE` or `IORING_REGISTER_BUFFERS`.
  var pin: () -> Result<Void, Errno>
  /// Its undo; answers the bytes the kernel unpinned (io_uring's unregister answers no size: the
  /// registered size when it succeeds).
  var unpin: () -> Result<UInt64, Errno>
  /// The undo's name, for error lines (`VFIO_IOMMU_UNMAP_DMA`).
  var unpinName: String
}

/// Why a pin request could not be made ready (no IOVA window holds it, no file behind the memory).
struct PinNotReady: Error {
  var request: String
  var reason: String
}

/// An open interface that can take long-term pins: a VFIO container with a group, an iommufd
/// IOAS with a device, or an io_uring instance. Opened once per interface, closed by `cleanup`.
protocol PinSession {
  var kernel: any Kernel { get }
  /// Non-nil when a successful map through this session pins nothing (no IOMMU domain,
  /// noiommu, mdev-only): those cells are `not-exercised`, never `pinned`.
  var notExercisedReason: String? { get }
  /// The pin request for `memory` and its undo, ready to be made.
  func ready(_ memory: PreparedMemory, access: Access) -> Result<ReadyPin, PinNotReady>
  /// True when a successful request registers the memory without pinning it (RDMA ODP): the
  /// cell is `on-demand` unless VmPin grew.
  var pinsOnDemand: Bool { get }
  /// Why this session cannot serve `access` (a device without ODP for it); nil when it can.
  func unavailable(for access: Access) -> SessionUnavailable?
}

extension PinSession {
  var pinsOnDemand: Bool { false }
  func unavailable(for access: Access) -> SessionUnavailable? { nil }

  /// Pins `memory`, records the answer and the `VmPin + VmLck` growth, and undoes the pin before
  /// returning, checking that the kernel unpinned every byte.
  func pin(_ memory: PreparedMemory, access: Access) -> PinAttempt {
    let ready: ReadyPin
    switch self.ready(memory, access: access) {
    case .failure(let n): return PinAttempt(request: n.request, result: nil, toolError: n.reason)
    case .success(let r): ready = r
    }
    let before = kernel.pinAccounting()
    let result = ready.pin()
    guard case .success = result else { return PinAttempt(request: ready.request, result: result) }
    let delta = pinnedDelta(before, kernel.pinAccounting())
    switch ready.unpin() {
    case .success(let n) where n == ready.size:
      return PinAttempt(request: ready.request, result: result, pinnedKB: delta)
    case .success(let n):
      return PinAttempt(
        request: ready.request, result: result, toolError: "\(ready.unpinName) unmapped \(n) of \(ready.size) bytes", pinnedKB: delta)
    case .failure(let e):
      return PinAttempt(request: ready.request, result: result, toolError: "\(ready.unpinName): \(e.name)", pinnedKB: delta)
    }
  }
}

/// Opens the session of `interface` on the targets' objects (the probe's and the bench's one way
/// in); every step taken is registered with `cleanup`. A session that cannot be had is the reason.
func openPinSession(_ interface: Interface, kernel: any Kernel, targets: ProbeTargets, cleanup: Cleanup)
  -> Result<any PinSession, SessionUnavailable>
{
  do {
    switch interface {
    case .vfioType1, .vfioType1v2, .iommufdCompat:
      return .success(
        try VFIOContainerSession.open(
          kernel: kernel, interface: interface, group: targets.vfioGroup, containerPresent: targets.vfioContainer,
          iommufdPresent: targets.iommufd, cleanup: cleanup))
    case .iommufd, .iommufdFile:
      return .success(
        try IOMMUFDSession.open(
          kernel: kernel, byFile: interface == .iommufdFile, present: targets.iommufd, group: targets.vfioGroup, cleanup: cleanup))
    case .ioUring:
      return .success(try IOUringSession.open(kernel: kernel, cleanup: cleanup))
    case .rdma, .rdmaODP:
      return .success(try RDMASession.open(kernel: kernel, onDemand: interface == .rdmaODP, cleanup: cleanup))
    case .afXDP:
      return .success(try AFXDPSession.open(kernel: kernel))
    case .truncateHeld:
      // Opens nothing per interface: each cell makes its own pipe and thread (ProbeEngine's beginTruncateCells).
      return .failure(SessionUnavailable(outcome: .unsupported, reason: "truncate-held is not a pin interface"))
    }
  } catch let e as SessionUnavailable {
    return .failure(e)
  } catch {
    return .failure(SessionUnavailable(outcome: .setupFailed, reason: "\(error)"))
  }
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
