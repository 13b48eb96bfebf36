import FoundationEssentials

/// One option as QEMU's command line has it: `-object` and its argument.
public struct QEMUArgument: Sendable, Equatable {
  /// The name without its dashes (`object`, `m`, `enable-kvm`).
  public var option: String
  /// The argument; nil for options that take none.
  public var value: String?
  public init(option: String, value: String?) {
    self.option = option
    self.value = value
  }
}

/// An option's argument parsed as QEMU parses it: comma-separated `key=value` pairs, `,,` for a
/// comma inside a value, a first element without `=` for the option's implied key
/// (`memory-backend-file` is `qom-type=memory-backend-file`), a bare key for `key=on`; or, for
/// `-object` and `-device`, a JSON object.
public struct QEMUOptionList: Sendable, Equatable {
  public struct Pair: Sendable, Equatable {
    public var key: String
    public var value: String
  }
  /// In the order written; a key given twice keeps both, and the last one counts.
  public var pairs: [Pair]
  /// The argument as written.
  public var text: String

  public subscript(key: String) -> String? { pairs.last { $0.key == key }?.value }
  public func has(_ key: String) -> Bool { pairs.contains { $0.key == key } }
}

/// QEMU's command-line syntax, without QEMU.
public enum QEMUOptions {
  /// Options that take no argument (qemu-options.hx entries without HAS_ARG, old ones included);
  /// every other option takes exactly one, whatever it looks like (`-append -x` is an argument).
  public static let argumentless: Set<String> = [
    "h", "help", "version", "S", "s", "snapshot", "nographic", "no-reboot", "no-shutdown", "daemonize", "nodefaults",
    "no-user-config", "nodefconfig", "enable-kvm", "no-kvm", "full-screen", "alt-grab", "ctrl-grab", "no-quit", "sdl", "curses",
    "portrait", "win2k-hack", "no-acpi", "no-hpet", "enable-fips", "only-migratable", "mem-prealloc", "singlestep", "preconfig",
    "xen-attach", "xen-domid-restrict", "enable-sync-profile", "old-param", "semihosting", "no-fd-bootchk", "rtc-td-hack",
    "no-kvm-irqchip", "no-kvm-pit", "no-kvm-pit-reinjection", "usb", "no-frame", "show-cursor", "async-teardown", "localtime",
    "tdf", "enable-nesting", "nvram-none",
  ]

  /// Splits argv (without the program name) into options and their arguments. Words that are not
  /// options (a disk image named on its own) are skipped, as QEMU treats them as `-hda`.
  public static func split(_ argv: [String]) throws(CheckProblem) -> [QEMUArgument] {
    var out: [QEMUArgument] = []
    var i = 0
    while i < argv.count {
      let word = argv[i]
      i += 1
      guard word.hasPrefix("-"), word.count > 1 else { continue }
      let name = String(word.hasPrefix("--") ? word.dropFirst(2) : word.dropFirst())
      if argumentless.contains(name) {
        out.append(QEMUArgument(option: name, value: nil))
        continue
      }
      guard i < argv.count else { throw .malformed("-\(name): requires an argument") }
      out.append(QEMUArgument(option: name, value: argv[i]))
      i += 1
    }
    return out
  }

  /// Parses `text` as key=value pairs (or JSON, when `json` allows it and the text is an object).
  /// Throws a message without the option's name; the reader adds it.
  public static func parse(_ text: String, impliedKey: String?, json: Bool = false) throws(OptionSyntaxError) -> QEMUOptionList {
    if json, text.drop(while: { $0 == " " }).hasPrefix("{") { return try parseJSON(text) }
    var pairs: [QEMUOptionList.Pair] = []
    var segment = ""
    var first = true
    var chars = text.makeIterator()
    var pending = chars.next()
    func finish() throws(OptionSyntaxError) {
      defer {
        segment = ""
        first = false
      }
      guard !segment.isEmpty else {
        if first { throw OptionSyntaxError("empty option at the start") }
        return
      }
      if let eq = segment.firstIndex(of: "=") {
        let key = String(segment[..<eq])
        guard !key.isEmpty else { throw OptionSyntaxError("'\(segment)': a value without a key") }
        pairs.append(.init(key: key, value: String(segment[segment.index(after: eq)...])))
      } else if first, let impliedKey {
        pairs.append(.init(key: impliedKey, value: segment))
      } else {
        pairs.append(.init(key: segment, value: "on"))
      }
    }
    while let c = pending {
      pending = chars.next()
      if c == "," {
        if pending == "," {
          segment.append(",")
          pending = chars.next()
          continue
        }
        try finish()
        continue
      }
      segment.append(c)
    }
    if !segment.isEmpty || first { try finish() }
    return QEMUOptionList(pairs: pairs, text: text)
  }

  /// `-object '{"qom-type":"memory-backend-file","id":"m0","size":67108864,"share":true}'`:
  /// strings as they are, booleans as on/off, numbers in decimal. Nested values are kept as
  /// `…` (daxpin reads none of them).
  static func parseJSON(_ text: String) throws(OptionSyntaxError) -> QEMUOptionList {
    let object: [String: JSONScalar]
    do {
      object = try JSONDecoder().decode([String: JSONScalar].self, from: Data(text.utf8))
    } catch {
      throw OptionSyntaxError("not a JSON object of parameters")
    }
    let pairs = object.keys.sorted().map { QEMUOptionList.Pair(key: $0, value: object[$0]!.text) }
    return QEMUOptionList(pairs: pairs, text: text)
  }

  /// QEMU's booleans: on/off, yes/no, true/false, y/n.
  public static func bool(_ s: String) -> Bool? {
    switch s {
    case "on", "yes", "true", "y": true
    case "off", "no", "false", "n": false
    default: nil
    }
  }
}

/// A syntax error inside one option's argument.
public struct OptionSyntaxError: Error, Equatable {
  public var message: String
  init(_ message: String) { self.message = message }
}

/// One value of a JSON option, kept as QEMU's key=value syntax would spell it.
enum JSONScalar: Decodable {
  case string(String), bool(Bool), unsigned(UInt64), signed(Int64), double(Double), nested

  init(from decoder: any Decoder) throws {
    let c = try decoder.singleValueContainer()
    if let s = try? c.decode(String.self) {
      self = .string(s)
    } else if let b = try? c.decode(Bool.self) {
      self = .bool(b)
    } else if let u = try? c.decode(UInt64.self) {
      self = .unsigned(u)
    } else if let i = try? c.decode(Int64.self) {
      self = .signed(i)
    } else if let d = try? c.decode(Double.self) {
      self = .double(d)
    } else {
      self = .nested
    }
  }

  var text: String {
    switch self {
    case .string(let s): s
    case .bool(let b): b ? "on" : "off"
    case .unsigned(let u): "\(u)"
    case .signed(let i): "\(i)"
    case .double(let d): "\(d)"
    case .nested: "…"
    }
  }
}
