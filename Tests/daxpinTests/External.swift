import Foundation

/// Programs outside daxpin that check its output: headless Chromium (the HTML page), xmllint
/// (JUnit XML against an XSD) and python3-jsonschema (reports against docs/report.schema.json).
/// `scripts/setup.sh` installs all three; a test whose program is absent is skipped and says why.
enum External {
  /// The first executable named `name` on PATH (or in /usr/bin), if any.
  static func find(_ names: String...) -> String? {
    let path = (ProcessInfo.processInfo.environment["PATH"] ?? "") + ":/usr/bin:/bin"
    for name in names {
      for dir in path.split(separator: ":") {
        let candidate = "\(dir)/\(name)"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
      }
    }
    return nil
  }

  /// Runs `program args` under `timeout(1)` (killed after `seconds`), stdin from /dev/null.
  static func run(_ program: String, _ args: [String], seconds: Int = 120) throws -> Run {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
    p.arguments = ["--kill-after=5", "\(seconds)", program] + args
    p.standardInput = FileHandle(forReadingAtPath: "/dev/null")
    // stderr goes to a file, so a chatty stderr can never block stdout's pipe.
    let errPath = NSTemporaryDirectory() + "daxpin-stderr-\(UUID().uuidString)"
    _ = FileManager.default.createFile(atPath: errPath, contents: nil)
    defer { try? FileManager.default.removeItem(atPath: errPath) }
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle(forWritingAtPath: errPath)
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    let e = FileManager.default.contents(atPath: errPath) ?? Data()
    return Run(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self), signalled: nil)
  }

  // MARK: Chromium

  static let chromium: String? = find("chromium", "chromium-browser", "google-chrome")

  /// The DOM of `file` (with `fragment`, e.g. `#selftest`) after headless Chromium has loaded it
  /// and run its scripts, from a private profile directory removed afterwards.
  static func renderedDOM(_ file: String, fragment: String = "") throws -> String {
    guard let chromium else { throw CocoaError(.executableNotLoadable) }
    let profile = NSTemporaryDirectory() + "daxpin-chromium-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: profile) }
    let r = try run(
      chromium,
      [
        "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", "--no-default-browser-check", "--disable-extensions",
        "--user-data-dir=\(profile)", "--virtual-time-budget=10000", "--dump-dom", URL(fileURLWithPath: file).absoluteString + fragment,
      ])
    return r.stdout
  }

  /// The text of `<pre id="selftest">` in a dumped DOM, unescaped, as lines; nil when absent.
  static func selftest(_ dom: String) -> [String]? {
    guard let start = dom.range(of: "<pre id=\"selftest\">"), let end = dom.range(of: "</pre>", range: start.upperBound..<dom.endIndex) else {
      return nil
    }
    let text = String(dom[start.upperBound..<end.lowerBound])
      .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
      .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&amp;", with: "&")
    return text.components(separatedBy: "\n")
  }

  // MARK: xmllint

  static let xmllint: String? = find("xmllint")

  // MARK: python3 with jsonschema

  /// A python3 that can `import jsonschema` (Debian's /usr/bin/python3 with python3-jsonschema
  /// first), if any.
  static let pythonWithJSONSchema: String? = {
    for candidate in ["/usr/bin/python3", find("python3")].compactMap({ $0 }) {
      if let r = try? run(candidate, ["-c", "import jsonschema"], seconds: 60), r.status == 0 { return candidate }
    }
    return nil
  }()

  /// Validates every file against the Draft 2020-12 schema at `schema`: one line per problem
  /// (`FILE: PATH: MESSAGE`) and exit 1, or `valid N` and exit 0.
  static func validateJSON(schema: String, files: [String]) throws -> Run {
    guard let python = pythonWithJSONSchema else { throw CocoaError(.executableNotLoadable) }
    let script = """
      import json, sys
      from jsonschema import Draft202012Validator
      schema = json.load(open(sys.argv[1]))
      Draft202012Validator.check_schema(schema)
      validator = Draft202012Validator(schema)
      bad = 0
      for path in sys.argv[2:]:
          for e in validator.iter_errors(json.load(open(path))):
              bad += 1
              print("%s: %s: %s" % (path, "/".join(str(p) for p in e.absolute_path), e.message[:300]))
      print("valid %d" % (len(sys.argv) - 2) if bad == 0 else "invalid %d" % bad)
      sys.exit(1 if bad else 0)
      """
    return try run(python, ["-c", script, schema] + files)
  }
}

/// The repository's root (for docs/ and Tests/…/Fixtures).
let repositoryRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
