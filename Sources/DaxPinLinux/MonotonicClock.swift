import Glibc

/// CLOCK_MONOTONIC, for durations in probes and lab runs.
public enum MonotonicClock {
  public static func microseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000 + UInt64(ts.tv_nsec) / 1000
  }
  public static func nanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
  }
  public static func seconds() -> Double { Double(microseconds()) / 1e6 }
}

/// `/proc/<pid>/status` lines: `Key:\tvalue [more]`.
enum ProcStatus {
  /// The first whitespace-separated value after `key:`.
  static func field(_ key: String, in status: String) -> Substring? {
    status.split(separator: "\n").first { $0.hasPrefix(key + ":") }?
      .dropFirst(key.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" }).first
  }
}
