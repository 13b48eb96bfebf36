/// Sizes as VMM configurations write them, and as `daxpin check` prints them.
public enum ByteSize {
  /// QEMU's `qemu_strtosz`: a decimal number (a fraction allowed with a unit), or `0x` hex, with
  /// an optional suffix `B K M G T P E` in either case (binary units). `defaultUnit` applies when
  /// there is no suffix: bytes for `size=`, MiB for `-m`.
  public static func qemu(_ text: String, defaultUnit: UInt64 = 1) -> UInt64? {
    var s = Substring(text)
    guard !s.isEmpty else { return nil }
    if s.hasPrefix("0x") || s.hasPrefix("0X") {
      s = s.dropFirst(2)
      let digits = s.prefix { $0.isHexDigit }
      guard !digits.isEmpty, let v = UInt64(digits, radix: 16) else { return nil }
      return scaled(Double(v), exact: v, suffix: s.dropFirst(digits.count), defaultUnit: defaultUnit, fraction: false)
    }
    let number = s.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
    guard !number.isEmpty, number.first != ".", number.filter({ $0 == "." }).count <= 1, let d = Double(number) else { return nil }
    return scaled(d, exact: UInt64(number), suffix: s.dropFirst(number.count), defaultUnit: defaultUnit, fraction: number.contains("."))
  }

  private static func scaled(_ value: Double, exact: UInt64?, suffix: Substring, defaultUnit: UInt64, fraction: Bool) -> UInt64? {
    let unit: UInt64
    switch suffix.uppercased() {
    case "": unit = defaultUnit
    case "B": unit = 1
    case "K": unit = 1 << 10
    case "M": unit = 1 << 20
    case "G": unit = 1 << 30
    case "T": unit = 1 << 40
    case "P": unit = 1 << 50
    case "E": unit = 1 << 60
    default: return nil
    }
    if let exact, !fraction {
      let (r, overflow) = exact.multipliedReportingOverflow(by: unit)
      return overflow ? nil : r
    }
    guard unit > 1 else { return nil }  // a fraction of a byte
    let r = value * Double(unit)
    guard r < 0x1p64 else { return nil }
    return UInt64(r)
  }

  /// cloud-hypervisor's `ByteSized`: digits with an optional `K`, `M` or `G` (binary units).
  public static func cloudHypervisor(_ text: String) -> UInt64? {
    let digits = text.prefix { $0.isASCII && $0.isNumber }
    guard !digits.isEmpty, let v = UInt64(digits) else { return nil }
    let unit: UInt64
    switch text.dropFirst(digits.count) {
    case "": unit = 1
    case "K": unit = 1 << 10
    case "M": unit = 1 << 20
    case "G": unit = 1 << 30
    default: return nil
    }
    let (r, overflow) = v.multipliedReportingOverflow(by: unit)
    return overflow ? nil : r
  }

  /// libvirt's `unit=` attribute (`virScaleInteger`): nil for a unit libvirt does not know.
  /// No attribute means KiB.
  public static func libvirtUnit(_ unit: String?) -> UInt64? {
    guard let unit else { return 1 << 10 }
    switch unit {
    case "b", "bytes": return 1
    case "KB": return 1000
    case "k", "K", "KiB": return 1 << 10
    case "MB": return 1_000_000
    case "m", "M", "MiB": return 1 << 20
    case "GB": return 1_000_000_000
    case "g", "G", "GiB": return 1 << 30
    case "TB": return 1_000_000_000_000
    case "t", "T", "TiB": return 1 << 40
    case "PB": return 1_000_000_000_000_000
    case "p", "P", "PiB": return 1 << 50
    case "EB": return 1_000_000_000_000_000_000
    case "e", "E", "EiB": return 1 << 60
    default: return nil
    }
  }

  /// `64 MiB`, `2 GiB`, `1536 KiB`, `1000 bytes`: the largest binary unit that divides exactly.
  public static func describe(_ bytes: UInt64) -> String {
    for (shift, name) in [(60, "EiB"), (50, "PiB"), (40, "TiB"), (30, "GiB"), (20, "MiB"), (10, "KiB")] where bytes >= 1 << shift {
      if bytes % (1 << UInt64(shift)) == 0 { return "\(bytes >> UInt64(shift)) \(name)" }
    }
    return bytes == 1 ? "1 byte" : "\(bytes) bytes"
  }

  /// QEMU's spelling of an alignment in a fix: `2M`, `1G`, `4K`.
  public static func qemuSuffix(_ bytes: UInt64) -> String {
    for (shift, name) in [(30, "G"), (20, "M"), (10, "K")] where bytes >= 1 << shift && bytes % (1 << UInt64(shift)) == 0 {
      return "\(bytes >> UInt64(shift))\(name)"
    }
    return "\(bytes)"
  }
}
