import CVFIO
import DaxPinCore
import Glibc

/// The machine daxpin runs on: the real kernel behind the seam, the inventory read from /proc,
/// /sys, /dev and libndctl, and its hostname.
public struct LinuxHost: Host {
  public init() {}

  public var kernel: any Kernel { LinuxKernel() }
  public var backend: Backend { .linux }
  public var privileged: Bool { geteuid() == 0 }
  public func inventory() -> Inventory { LinuxInventory().collect() }
  public func microseconds() -> UInt64 { MonotonicClock.microseconds() }
  public func nanoseconds() -> UInt64 { MonotonicClock.nanoseconds() }

  public var identity: Report.Host {
    var u = utsname()
    uname(&u)
    func field<T>(_ t: T) -> String { withUnsafeBytes(of: t) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) } }
    return Report.Host(hostname: field(u.nodename), arch: field(u.machine))
  }
}
