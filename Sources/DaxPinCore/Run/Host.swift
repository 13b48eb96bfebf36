/// A machine to probe: the kernel behind the seam, what the machine offers (its inventory) and
/// who it is. `DaxPinLinux.LinuxHost` is the machine daxpin runs on; `DaxPinFake.FakeHost` is a
/// simulated one whose inventory is derived from the fake kernel's own state.
public protocol Host: Sendable {
  /// The kernel every probe step goes through.
  var kernel: any Kernel { get }
  var backend: Backend { get }
  /// Hostname and architecture, as the report records them.
  var identity: Report.Host { get }
  /// May this caller open VFIO groups, /dev/iommu and device-DAX and pin memory (root)?
  var privileged: Bool { get }
  /// What the host offers, read fresh.
  func inventory() -> Inventory
  /// A monotonic clock in microseconds for probe durations (the fake's is deterministic).
  func microseconds() -> UInt64
  /// A monotonic clock in nanoseconds, for `daxpin bench`'s timed calls.
  func nanoseconds() -> UInt64
}

extension Host {
  public func nanoseconds() -> UInt64 { microseconds() &* 1000 }
}

/// Which kernel a report came from: the real one (`linux`) or the simulated one (`fake`, whose
/// reports are labelled simulated everywhere and never mix with real ones).
public enum Backend: String, Codable, CaseIterable, Sendable {
  case linux, fake
}
