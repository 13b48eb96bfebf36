import DaxPinCore
import Glibc

/// Follows a file another process appends to (the serial console, the firmware log): each poll
/// returns the lines completed since the last one, and remembers when the first byte arrived.
final class FileFollower {
  let path: String
  private var fd: Int32 = -1
  private var pending: [UInt8] = []
  private(set) var firstByteAt: Double?

  init(_ path: String) { self.path = path }
  deinit { if fd >= 0 { close(fd) } }

  /// Complete lines (without `\r\n`) that arrived since the last call; with `flush`, also a last
  /// line without its newline.
  func poll(now: Double, flush: Bool = false) -> [String] {
    if fd < 0 { fd = open(path, O_RDONLY | O_CLOEXEC) }
    guard fd >= 0 else { return [] }
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
      let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if n < 0 && errno == EINTR { continue }
      guard n > 0 else { break }
      if firstByteAt == nil { firstByteAt = now }
      pending.append(contentsOf: chunk[..<n])
    }
    var lines: [String] = []
    while let nl = pending.firstIndex(of: 0x0A) {
      lines.append(String(decoding: pending[..<nl].filter { $0 != 0x0D }, as: UTF8.self))
      pending.removeSubrange(...nl)
    }
    if flush, !pending.isEmpty {
      lines.append(String(decoding: pending.filter { $0 != 0x0D }, as: UTF8.self))
      pending.removeAll()
    }
    return lines
  }
}

/// Where a run's seconds went. The host has wall-clock points (QEMU spawned, the firmware's first
/// log byte and its hand-off to the boot ROM, QEMU's exit); the guest prints `DAXPIN-LAB:
/// t=<uptime> STEP` when each of its steps ends. The host notes when it sees each mark, so the
/// kernel's clock started at most `seen - uptime` after the spawn: the smallest such value over
/// all marks places the guest's steps on the host's clock.
public struct LabTimeline: Sendable, Equatable {
  public struct Mark: Sendable, Equatable {
    public var uptime: Double
    public var step: String
    /// Host monotonic seconds when the line was first read.
    public var seen: Double
    public init(uptime: Double, step: String, seen: Double) {
      self.uptime = uptime
      self.step = step
      self.seen = seen
    }
  }

  /// The run began (host monotonic seconds).
  public var start: Double
  /// QEMU was spawned (after the initrd was assembled).
  public var spawned: Double?
  public var firmwareStarted: Double?
  /// The firmware's `Booting from ...` line: it hands over to the PVH or linuxboot ROM.
  public var firmwareHandedOff: Double?
  public var marks: [Mark] = []
  /// QEMU's exit was reaped (or the run killed it).
  public var exited: Double?
  /// The report was written.
  public var end: Double?
  /// CPU seconds QEMU used (user and system): under TCG the guest's work, whatever else the
  /// host was doing meanwhile.
  public var qemuCPUSeconds: Double?

  public init(start: Double) { self.start = start }

  /// `DAXPIN-LAB: t=12.34 step` → (12.34, "step").
  public static func mark(in line: String) -> (uptime: Double, step: String)? {
    guard let r = line.firstRange(of: "DAXPIN-LAB: t=") else { return nil }
    let rest = line[r.upperBound...]
    guard let space = rest.firstIndex(of: " "), let t = Double(rest[..<space]) else { return nil }
    let step = rest[rest.index(after: space)...].trimmingCharacters(in: " ")
    return step.isEmpty ? nil : (t, step)
  }

  /// When the guest kernel's clock read zero, on the host's clock; nil when unknown or when the
  /// guest's clock cannot have started then (it jumped ahead: seen once on a busy host, an init
  /// mark at "88 s" in a 40 s run).
  public var kernelZero: Double? {
    guard let zero = marks.map({ $0.seen - $0.uptime }).min() else { return nil }
    if let earliest = firmwareHandedOff ?? firmwareStarted ?? spawned, zero < earliest - 0.05 { return nil }
    return max(zero, firmwareHandedOff ?? firmwareStarted ?? spawned ?? zero)
  }

  /// The guest's uptime at a mark.
  public func uptime(at step: String) -> Double? { marks.first { $0.step == step }?.uptime }

  /// The seconds between two marks: by the guest's clock, unless the host saw them a different
  /// time apart (more than a quarter second and a quarter off: the guest's clock jumped), then
  /// by the host's.
  public static func between(_ a: Mark, _ b: Mark) -> Double {
    let guest = b.uptime - a.uptime
    let host = b.seen - a.seen
    return abs(guest - host) > 0.25 + 0.25 * host ? host : guest
  }

  /// The seconds between two marks (see `between`); nil when either is missing.
  public func seconds(from a: String, to b: String) -> Double? {
    guard let x = marks.first(where: { $0.step == a }), let y = marks.first(where: { $0.step == b }) else { return nil }
    return Self.between(x, y)
  }

  /// The steps in order:
  /// `initramfs` (assembling this run's initrd), `qemu` (spawn to the firmware's first byte),
  /// `firmware` (to its hand-off), `loader` (the boot ROM, for a bzImage its decompressor, and
  /// the kernel's setup before its clock starts — memory map, page tables, struct pages),
  /// `kernel` (to /init), then one step per guest mark (`modules`, `namespaces`, `mkfs`, `vfio`, `rdma`,
  /// `lists`, `probe`, `contract`, `sync`), `shutdown` (the last mark to QEMU's exit) and
  /// `collect` (reading the console, writing the report). Without a firmware log the first two
  /// are one step, `qemu+firmware`; when the guest's clock cannot place its start, `loader` and
  /// `kernel` are one, `loader+kernel`, by the host's clock. Steps whose ends are unknown (a run
  /// that died) are left out.
  public var steps: [LabTiming] {
    var out: [LabTiming] = []
    func add(_ step: String, _ from: Double?, _ to: Double?) {
      guard let from, let to else { return }
      out.append(LabTiming(step: step, seconds: max(0, to - from)))
    }
    add("initramfs", start, spawned)
    let zero = kernelZero
    let handoff = firmwareHandedOff ?? firmwareStarted ?? spawned
    if let f = firmwareStarted {
      add("qemu", spawned, f)
      if let h = firmwareHandedOff { add("firmware", f, h) }
    }
    let loaderName = firmwareStarted == nil ? "qemu+firmware" : firmwareHandedOff == nil ? "firmware+loader" : "loader"
    guard let first = marks.first else { return out }
    if let zero {
      add(loaderName, firmwareStarted == nil ? spawned : handoff, zero)
      add("kernel", 0, first.uptime)
    } else {
      add(loaderName == "loader" ? "loader+kernel" : loaderName + "+kernel", firmwareStarted == nil ? spawned : handoff, first.seen)
    }
    for (a, b) in zip(marks, marks.dropFirst()) { out.append(LabTiming(step: b.step, seconds: max(0, Self.between(a, b)))) }
    let last = marks.last!
    add("shutdown", zero.map { min($0 + last.uptime, last.seen) } ?? last.seen, exited)
    add("collect", exited, end)
    return out
  }
}
