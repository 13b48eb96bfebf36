import SystemPackage

/// What a kernel *should* do with one probe, and where that belief comes from.
public struct Expectation: Codable, Sendable, Equatable {
  /// `pinned`, `refused` or `on-demand`.
  public var outcome: Outcome
  /// The errno of an expected refusal.
  public var errno: Int32?
  public var errnoName: String?
  /// The rule that decided it (`gup-fsdax`, `gup-file-dirty-tracking`, …).
  public var origin: String
  /// Why the rule applies to this kernel: a detected feature, or the version fallback.
  public var basis: String

  public static func pinned(origin: String, basis: String) -> Self {
    Expectation(outcome: .pinned, errno: nil, errnoName: nil, origin: origin, basis: basis)
  }
  /// A registration expected to succeed without a pin (ODP).
  public static func onDemand(origin: String, basis: String) -> Self {
    Expectation(outcome: .onDemand, errno: nil, errnoName: nil, origin: origin, basis: basis)
  }
  public static func refused(_ e: Errno, origin: String, basis: String) -> Self {
    Expectation(outcome: .refused, errno: e.rawValue, errnoName: e.name, origin: origin, basis: basis)
  }

  enum CodingKeys: String, CodingKey {
    case outcome, errno, origin, basis
    case errnoName = "errno_name"
  }
}

/// What the rules are keyed on: features detected on the kernel, its version as the fallback.
public struct KernelFeatures: Sendable, Equatable {
  public var version: KernelVersion?
  public init(version: KernelVersion?) { self.version = version }

  public init(_ kernel: KernelInfo) { self.init(version: kernel.version2) }

  func atLeast(_ major: Int, _ minor: Int) -> Bool {
    guard let version else { return true }  // an unparsable release is judged by today's rules
    return version >= KernelVersion(major, minor)
  }
}

/// One row of the rule table.
public struct ExpectationRule: Sendable {
  public var origin: String
  public var basis: String
  public var applies: @Sendable (ProbeID, KernelFeatures) -> Bool
  public var expect: Outcome
  public var errno: Errno?
}
