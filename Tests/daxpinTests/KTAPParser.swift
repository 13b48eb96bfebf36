/// A small, strict KTAP version 1 parser (Documentation/dev-tools/ktap.rst) for the tests: a
/// version line, a plan, result lines numbered from 1 without gaps, diagnostic lines, and nested
/// subtests indented by two spaces, each opened by its own version line and closed by the
/// parent's result line. Anything else is an error, so the tests catch a malformed line.
struct KTAPDocument: Equatable {
  struct Result: Equatable {
    var ok: Bool
    var number: Int
    var name: String
    /// `SKIP`, `ERROR`, `TODO`, `XFAIL`, `TIMEOUT`, or nil.
    var directive: String?
    /// The text after the directive (or after `#` when there is none).
    var diagnostic: String?
    /// The diagnostic lines just before this result (without `# `).
    var notes: [String]
    /// The nested test's document when this result closes one.
    var subtest: KTAPDocument?
  }

  var plan: Int
  var results: [Result]
  /// Diagnostic lines not followed by a result (e.g. the totals line).
  var trailing: [String]

  struct ParseError: Error, CustomStringConvertible {
    var line: Int
    var message: String
    var description: String { "KTAP line \(line): \(message)" }
  }

  static let directives: Set<String> = ["SKIP", "TODO", "XFAIL", "TIMEOUT", "ERROR"]

  static func parse(_ text: String) throws -> KTAPDocument {
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    if lines.last == "" { lines.removeLast() }
    var i = 0
    let doc = try parse(lines, &i, indent: "")
    if i != lines.count { throw ParseError(line: i + 1, message: "text after the document: \(lines[i])") }
    return doc
  }

  private static func parse(_ lines: [String], _ i: inout Int, indent: String) throws -> KTAPDocument {
    func fail(_ m: String) -> ParseError { ParseError(line: i + 1, message: m) }
    guard i < lines.count, lines[i] == indent + "KTAP version 1" else { throw fail("expected \"\(indent)KTAP version 1\"") }
    i += 1
    guard i < lines.count, lines[i].hasPrefix(indent + "1.."), let plan = Int(lines[i].dropFirst(indent.count + 3)) else {
      throw fail("expected the plan \"1..N\"")
    }
    i += 1
    var doc = KTAPDocument(plan: plan, results: [], trailing: [])
    var notes: [String] = []
    var pendingSubtest: KTAPDocument?
    while i < lines.count {
      let line = lines[i]
      if line == indent + "  KTAP version 1" {
        guard pendingSubtest == nil else { throw fail("two subtests before one result") }
        pendingSubtest = try parse(lines, &i, indent: indent + "  ")
        continue
      }
      guard line.hasPrefix(indent) else { break }  // the parent's result line
      let body = String(line.dropFirst(indent.count))
      if body.hasPrefix(" ") { throw fail("unexpected indentation: \(line)") }
      if body.hasPrefix("# ") || body == "#" {
        notes.append(String(body.dropFirst(2)))
        i += 1
        continue
      }
      let ok: Bool
      let rest: Substring
      if body.hasPrefix("ok ") {
        (ok, rest) = (true, body.dropFirst(3))
      } else if body.hasPrefix("not ok ") {
        (ok, rest) = (false, body.dropFirst(7))
      } else {
        if indent.isEmpty { throw fail("not a KTAP line: \(line)") }
        break
      }
      let numberText = rest.prefix { $0.isNumber }
      guard let number = Int(numberText) else { throw fail("result without a number: \(line)") }
      guard number == doc.results.count + 1 else { throw fail("result \(number) after \(doc.results.count)") }
      var after = rest.dropFirst(numberText.count)
      if after.hasPrefix(" ") { after = after.dropFirst() }
      var name = after
      var directive: String?
      var diagnostic: String?
      if let hash = after.range(of: " # ") ?? (after.hasPrefix("# ") ? after.startIndex..<after.index(after.startIndex, offsetBy: 2) : nil) {
        name = after[..<hash.lowerBound]
        let tail = after[hash.upperBound...]
        let word = tail.prefix { $0 != " " }
        if directives.contains(String(word)) {
          directive = String(word)
          let d = tail.dropFirst(word.count).drop { $0 == " " }
          diagnostic = d.isEmpty ? nil : String(d)
        } else {
          diagnostic = String(tail)
        }
      } else if after.contains("#") {
        throw fail("'#' in a test name: \(line)")
      }
      doc.results.append(
        Result(ok: ok, number: number, name: String(name), directive: directive, diagnostic: diagnostic, notes: notes, subtest: pendingSubtest))
      notes = []
      pendingSubtest = nil
      i += 1
    }
    if pendingSubtest != nil { throw fail("a subtest without its result line") }
    doc.trailing = notes
    guard doc.results.count == doc.plan else { throw fail("plan 1..\(doc.plan) but \(doc.results.count) results") }
    return doc
  }
}
