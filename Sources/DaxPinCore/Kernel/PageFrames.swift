import SystemPackage

/// Where one page frame lives: the memory block that holds it (`/sys/devices/system/memory/memoryN`),
/// that block's NUMA node (its `nodeM` link) and zone (`valid_zones` of an online block:
/// `Normal`, `DMA32`, `Movable`). Both nil for a frame outside every memory block (ZONE_DEVICE
/// pages of fsdax and device-DAX, which memory hotplug does not manage).
public struct FrameLocation: Sendable, Equatable, Codable {
  public var node: Int?
  public var zone: String?
  public init(node: Int?, zone: String?) {
    self.node = node
    self.zone = zone
  }
  /// In `ZONE_MOVABLE`: memory hot-unplug (and `daxctl offline-memory`) must be able to migrate it.
  public var isMovable: Bool { zone == "Movable" }
}

/// One page frame as the report shows it: its number and where it lives.
public struct FrameSample: Sendable, Equatable, Codable {
  public var pfn: UInt64?
  public var node: Int?
  public var zone: String?
  public init(pfn: UInt64?, location: FrameLocation?) {
    self.pfn = pfn
    node = location?.node
    zone = location?.zone
  }
  enum CodingKeys: String, CodingKey { case pfn, node, zone }
}

/// The page frames of a buffer before and after a pin (`/proc/self/pagemap`): whether the kernel
/// pinned the pages where they were or migrated them first, and how many stayed in `ZONE_MOVABLE`.
public struct FramePlacement: Sendable, Equatable, Codable {
  /// `in-place`: every frame is the one it was before the pin. `migrated`: the kernel moved
  /// pages to other frames before pinning them (FOLL_LONGTERM out of a movable zone or CMA). For
  /// pages that were in ZONE_MOVABLE only leaving it counts: a FOLL_FORCE write pin's
  /// copy-on-write copies (Debian 5.10's ib_umem_get on a read-only buffer) change frames but stay
  /// movable, which is `in-place`.
  public enum Placement: String, Sendable, Codable { case inPlace = "in-place", migrated }

  /// 4 KiB pages read.
  public var pages: Int
  /// The buffer's first page before and after the pin.
  public var before: FrameSample
  public var after: FrameSample
  /// Pages whose frame changed.
  public var moved: Int
  /// Pages in `ZONE_MOVABLE` before and after.
  public var movableBefore: Int
  public var movableAfter: Int
  public var placement: Placement

  public init(pages: Int, before: FrameSample, after: FrameSample, moved: Int, movableBefore: Int, movableAfter: Int) {
    self.pages = pages
    self.before = before
    self.after = after
    self.moved = moved
    self.movableBefore = movableBefore
    self.movableAfter = movableAfter
    placement = movableBefore > 0 ? (movableAfter < movableBefore ? .migrated : .inPlace) : (moved > 0 ? .migrated : .inPlace)
  }

  enum CodingKeys: String, CodingKey {
    case pages, before, after, moved, placement
    case movableBefore = "movable_before"
    case movableAfter = "movable_after"
  }

  /// `migrated 512/512 pages, pfn 0x16c000 (node 0 Movable) -> 0x3a200 (node 0 Normal)`.
  public var summary: String {
    func describe(_ s: FrameSample) -> String {
      let pfn = s.pfn.map { "0x" + String($0, radix: 16) } ?? "?"
      let where_ = [s.node.map { "node \($0)" }, s.zone].compactMap { $0 }.joined(separator: " ")
      return where_.isEmpty ? pfn : "\(pfn) (\(where_))"
    }
    let head = placement == .migrated ? "migrated \(moved)/\(pages) pages" : "in place, \(pages) pages"
    return "\(head): first pfn \(describe(before)) -> \(describe(after)); ZONE_MOVABLE \(movableBefore) -> \(movableAfter)"
  }
}

/// A file to truncate while the first `heldBytes` of its `MAP_SHARED` mapping are held by a pipe.
public struct HeldTruncateTarget: Sendable, Equatable {
  public var file: FileDescriptor
  public var mapping: Mapping
  public var heldBytes: Int
  public init(file: FileDescriptor, mapping: Mapping, heldBytes: Int) {
    self.file = file
    self.mapping = mapping
    self.heldBytes = heldBytes
  }
}

/// What `ftruncate(2)` did while the first pages of a shared file mapping were held by a pipe
/// (`vmsplice(2)` of the mapping, not yet read), as `Kernel.holdPagesAndTruncate` measured it.
public struct HeldTruncate: Sendable, Equatable {
  /// Bytes `vmsplice` put in the pipe: the pages held.
  public var heldBytes: Int
  /// The truncate had returned by the end of the hold: it did not wait for the reference.
  public var returnedWhileHeld: Bool
  /// The truncate returned within the wait after the pipe was drained (always true when it
  /// returned while held); false: it was still blocked when the probe gave up.
  public var returnedAfterRelease: Bool
  /// The truncate's own errno, nil when it succeeded.
  public var truncateErrno: Errno?
  /// Milliseconds from the pipe being drained to the truncate returning (nil when it returned
  /// while held or never did).
  public var releaseToReturnMs: Int?
  public init(heldBytes: Int, returnedWhileHeld: Bool, returnedAfterRelease: Bool, truncateErrno: Errno? = nil, releaseToReturnMs: Int? = nil) {
    self.heldBytes = heldBytes
    self.returnedWhileHeld = returnedWhileHeld
    self.returnedAfterRelease = returnedAfterRelease
    self.truncateErrno = truncateErrno
    self.releaseToReturnMs = releaseToReturnMs
  }
}

/// Pages held by pipes while their files' truncates run, as `Kernel.holdPagesAndTruncate` began
/// them. `release(waitMs:)` ends the hold: it waits for what is left of it, notes which truncates
/// returned while held, drains every pipe (dropping its references) and gives each truncate up
/// to `waitMs` to return. `abandon()` ends it at once, for a run that stops (a signal): no wait
/// for the hold or the truncates, no answers. Either way every pipe is closed when it returns;
/// a truncate still blocked is left to finish on its own thread. A hold that is never ended is
/// abandoned when the last reference to it goes, so no pipe outlives it.
public final class HeldTruncateHold {
  /// How a hold ended.
  public enum Ending: Sendable, Equatable {
    /// `release(waitMs:)`: the hold lasted its time and the answers were read.
    case released(waitMs: Int)
    /// `abandon()`: ended at once by a run that stops.
    case abandoned
    /// Never ended by its owner: ended at once when it was deallocated.
    case dropped
  }

  private var end: ((Ending) -> [Result<HeldTruncate, Errno>])?
  private var answers: [Result<HeldTruncate, Errno>] = []

  /// `end` is called once: with `.released`, it answers each target in the targets' order.
  public init(end: @escaping (Ending) -> [Result<HeldTruncate, Errno>]) {
    self.end = end
  }

  /// Ends the hold and answers each target, in the targets' order; after the hold has ended, the
  /// same answers again (none after `abandon()`).
  public func release(waitMs: Int) -> [Result<HeldTruncate, Errno>] {
    finish(.released(waitMs: waitMs))
    return answers
  }

  /// Ends the hold at once, without its answers (nothing when it has already ended).
  public func abandon() { finish(.abandoned) }

  private func finish(_ ending: Ending) {
    guard let end else { return }
    self.end = nil
    let a = end(ending)
    if case .released = ending { answers = a }
  }

  deinit { _ = end?(.dropped) }
}

extension Kernel {
  /// The whole measurement in one call: `holdPagesAndTruncate`, then `release(waitMs:)`.
  public func truncateUnderHeldPages(_ targets: [HeldTruncateTarget], holdMs: Int, waitMs: Int) -> [Result<HeldTruncate, Errno>] {
    holdPagesAndTruncate(targets, holdMs: holdMs).release(waitMs: waitMs)
  }
}
