import DaxPinLinux
import FoundationEssentials
import Glibc

/// Where a long step's progress goes: on a terminal a status line that redraws in place
/// (`transient`), otherwise an ordinary line every `interval` seconds, so a log stays short.
public struct ProgressSink: Sendable {
  public var interactive: Bool
  public var interval: Double
  /// An ordinary line.
  public var line: @Sendable (String) -> Void
  /// A line that replaces the previous status line (terminals only).
  public var status: @Sendable (String) -> Void

  public init(
    interactive: Bool, interval: Double = 30, line: @escaping @Sendable (String) -> Void,
    status: @escaping @Sendable (String) -> Void = { _ in }
  ) {
    self.interactive = interactive
    self.interval = interval
    self.line = line
    self.status = status
  }

  /// Ordinary lines only.
  public static func lines(_ line: @escaping @Sendable (String) -> Void) -> ProgressSink {
    ProgressSink(interactive: false, line: line)
  }

  /// Throttles one step's updates.
  public func step() -> ProgressThrottle { ProgressThrottle(sink: self) }
}

/// One step's updates through a sink: every call on a terminal (at most one per second), every
/// `interval` seconds otherwise (the first after one interval).
public final class ProgressThrottle {
  let sink: ProgressSink
  private var lastShown: Double?
  private var started: Double?

  init(sink: ProgressSink) { self.sink = sink }

  /// Offers an update; returns whether it was shown.
  @discardableResult
  public func update(_ text: @autoclosure () -> String, now: Double = MonotonicClock.seconds()) -> Bool {
    let since = started ?? now
    started = since
    let gap = sink.interactive ? 1.0 : sink.interval
    guard now - (lastShown ?? since) >= gap else { return false }
    lastShown = now
    if sink.interactive { sink.status(text()) } else { sink.line(text()) }
    return true
  }
}

/// Minutes and seconds: `4:07`, `1:02:03`.
func clock(_ seconds: Double) -> String {
  let s = max(0, Int(seconds.rounded()))
  func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
  return s >= 3600 ? "\(s / 3600):\(two(s / 60 % 60)):\(two(s % 60))" : "\(s / 60):\(two(s % 60))"
}

/// Megabytes to one decimal.
func megabytes(_ bytes: Int) -> String {
  let tenths = Int((Double(bytes) / 1_048_576 * 10).rounded())
  return "\(tenths / 10).\(tenths % 10) MB"
}

/// How far a kernel build is, from kbuild's own output: the objects compiled (`CC`/`AS` lines
/// of `make` without `-s`) against an estimate of how many the configuration builds.
public struct KbuildProgress: Sendable {
  /// Objects expected; from a previous build of the same tree when there was one.
  public var expected: Int
  public private(set) var compiled = 0
  public private(set) var linking = false
  public let start: Double

  public init(expected: Int, start: Double) {
    self.expected = max(1, expected)
    self.start = start
  }

  /// Counts one line of kbuild output: `  CC      kernel/fork.o`, `  AS      arch/x86/...o`
  /// (host tools, `HOSTCC`, are not the kernel's objects); `  LD      vmlinux.o` and the later
  /// vmlinux steps mark the final link.
  public mutating func consume(_ line: Substring) {
    let f = line.split(separator: " ", omittingEmptySubsequences: true)
    guard f.count >= 2 else { return }
    switch f[0] {
    case "CC", "AS":
      if f.last!.hasSuffix(".o") { compiled += 1 }
    case "LD", "KSYMS", "SORTTAB", "SYSMAP", "OBJCOPY", "ZOFFSET", "VOFFSET", "MKPIGGY", "BUILD":
      if f.last!.hasPrefix("vmlinux") || f.last!.hasPrefix("arch/x86/boot") { linking = true }
    default: break
    }
  }

  public mutating func consume(text: String) {
    for line in text.split(separator: "\n") { consume(line) }
  }

  /// `8123 of ~9870 objects (82%), 19:34 elapsed, ~4:12 left` (the estimate assumes the rest
  /// goes at the pace so far); the final link says so instead of a share.
  public func summary(now: Double) -> String {
    let elapsed = now - start
    if linking { return "\(compiled) objects compiled, linking vmlinux, \(clock(elapsed)) elapsed" }
    let share = min(0.99, Double(compiled) / Double(expected))
    var s = "\(compiled) of ~\(expected) objects (\(Int(share * 100))%), \(clock(elapsed)) elapsed"
    if compiled >= 50, share > 0.02 { s += ", ~\(clock(elapsed / share - elapsed)) left" }
    return s
  }

  /// The objects a configured tree builds, estimated from its Makefiles and `.config`: every
  /// `.o` in an `obj-y`, `obj-$(CONFIG_X)` (X is `y`), `lib-…` or composite `name-y` list, less
  /// the composite objects themselves (linked, not compiled). Other architectures, tools,
  /// scripts, samples and Documentation are skipped.
  public static func estimateObjects(tree: String) -> Int {
    let config = enabled(config: HostProcess.readFile(tree + "/.config") ?? "")
    var total = 0
    let skip = ["tools", "scripts", "samples", "Documentation", "usr", "certs/extract-cert"]
    var stack = [""]
    let fm = FileManager.default
    while let rel = stack.popLast() {
      let dir = rel.isEmpty ? tree : tree + "/" + rel
      guard let names = try? fm.contentsOfDirectory(atPath: dir) else { continue }
      for name in names {
        let child = rel.isEmpty ? name : rel + "/" + name
        if name == "Makefile" || name == "Kbuild" {
          total += objects(inMakefile: HostProcess.readFile(dir + "/" + name) ?? "", enabled: config)
          continue
        }
        guard !name.hasPrefix("."), !skip.contains(child), !(rel == "arch" && name != "x86") else { continue }
        var st = stat()
        if lstat(dir + "/" + name, &st) == 0, st.st_mode & S_IFMT == S_IFDIR { stack.append(child) }
      }
    }
    return total
  }

  /// `CONFIG_X=y` lines of a .config, as `X`.
  static func enabled(config: String) -> Set<String> {
    Set(config.split(separator: "\n").compactMap { line in
      guard line.hasPrefix("CONFIG_"), line.hasSuffix("=y") else { return nil }
      return String(line.dropFirst("CONFIG_".count).dropLast(2))
    })
  }

  static func isNameCharacter(_ c: Character) -> Bool { c.isLetter || c.isNumber || c == "_" || c == "-" }

  /// The compiled objects one Makefile adds under `enabled`.
  static func objects(inMakefile text: String, enabled: Set<String>) -> Int {
    // Join continuation lines, drop comments.
    var logical: [Substring] = []
    var carry = ""
    for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
      let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
      if line.hasSuffix("\\") {
        carry += line.dropLast() + " "
      } else {
        logical.append(Substring(carry + line))
        carry = ""
      }
    }
    var listed: [String: Int] = [:]  // composite name -> compiled parts
    var objects: [String] = []  // from obj-/lib- lists
    for line in logical {
      guard let eq = line.firstRange(of: "=") else { continue }
      var lhs = line[..<eq.lowerBound].trimmingCharacters(in: " \t")
      if lhs.hasSuffix("+") || lhs.hasSuffix(":") || lhs.hasSuffix("?") { lhs.removeLast() }
      lhs = lhs.trimmingCharacters(in: " \t")
      guard let dash = lhs.lastIndex(of: "-") else { continue }
      let name = String(lhs[..<dash])
      let cond = String(lhs[lhs.index(after: dash)...])
      let on: Bool
      if cond == "y" || cond == "objs" {
        on = true
      } else if cond.hasPrefix("$(CONFIG_"), cond.hasSuffix(")") {
        on = enabled.contains(String(cond.dropFirst("$(CONFIG_".count).dropLast()))
      } else {
        continue
      }
      guard on, !name.isEmpty, name.allSatisfy(isNameCharacter) else { continue }
      let tokens = line[eq.upperBound...].split(whereSeparator: { $0 == " " || $0 == "\t" }).filter { $0.hasSuffix(".o") }.map(String.init)
      if name == "obj" || name == "lib" || name == "core" || name == "head" {
        objects += tokens
      } else {
        listed[name, default: 0] += tokens.count
      }
    }
    // A composite object (`ext4.o` with `ext4-y := balloc.o ...`) is linked from its parts.
    return objects.reduce(0) { n, o in n + (listed[String(o.dropLast(2))] ?? 1) }
  }
}
