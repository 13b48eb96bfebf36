import Foundation
import Testing

/// daxpin-embed, the EmbedBuildInfo plugin's tool: the Swift it writes must hold the init script
/// byte for byte whatever the script contains (quotes, `#`, backslashes, interpolation-looking
/// text, indentation, no final newline), and it must refuse what a string literal cannot carry.
/// The generated file is compiled with swiftc and run.
@Suite struct EmbedToolTests {
  static var tool: String {
    URL(fileURLWithPath: Run.executable).deletingLastPathComponent().appendingPathComponent("daxpin-embed").path
  }

  func scratch() throws -> String {
    let dir = NSTemporaryDirectory() + "daxpin-embed-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
  }

  func embed(_ dir: String, _ contents: [UInt8], commit: String = "") throws -> Run {
    _ = FileManager.default.createFile(atPath: dir + "/init", contents: Data(contents))
    _ = FileManager.default.createFile(atPath: dir + "/exec", contents: Data("#!/bin/busybox sh\nexec sh\n".utf8))
    return try External.run(Self.tool, [
      "--init", dir + "/init", "--exec", dir + "/exec", "--commit", commit, "--output", dir + "/Embedded.swift",
    ])
  }

  @Test(.enabled(if: External.find("swiftc") != nil, "swiftc is not on PATH"))
  func generatedSourceCompilesToTheSameBytes() throws {
    let dir = try scratch()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let script = "#!/bin/busybox sh\necho \"\"\"# \\(x) \\n ## \"\"\"## \"#\n\tindented\n  \"\"\"\n\nlast line without newline é"
    let r = try embed(dir, Array(script.utf8), commit: "0123456789abcdef0123456789abcdef01234567")
    #expect(r.status == 0, "\(r.stderr)")
    try """
      print(EmbeddedBuildInfo.commit ?? "nil")
      print(EmbeddedBuildInfo.guestExec, terminator: "")
      print(EmbeddedBuildInfo.guestInit, terminator: "")
      """.write(toFile: dir + "/main.swift", atomically: true, encoding: .utf8)
    let swiftc = try #require(External.find("swiftc"))
    let build = try External.run(swiftc, ["-Onone", dir + "/main.swift", dir + "/Embedded.swift", "-o", dir + "/prog"], seconds: 300)
    try #require(build.status == 0, "\(build.stderr)")
    let out = try External.run(dir + "/prog", [])
    #expect(out.stdout == "0123456789abcdef0123456789abcdef01234567\n#!/bin/busybox sh\nexec sh\n" + script)
  }

  @Test func anUnchangedInputLeavesTheFileAlone() throws {
    let dir = try scratch()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    #expect(try embed(dir, Array("echo one\n".utf8)).status == 0)
    let first = try FileManager.default.attributesOfItem(atPath: dir + "/Embedded.swift")
    #expect(try embed(dir, Array("echo one\n".utf8)).status == 0)
    let second = try FileManager.default.attributesOfItem(atPath: dir + "/Embedded.swift")
    #expect(first[.systemFileNumber] as? Int == second[.systemFileNumber] as? Int)
    #expect(first[.modificationDate] as? Date == second[.modificationDate] as? Date)
    #expect(try String(contentsOfFile: dir + "/Embedded.swift", encoding: .utf8).contains("static let commit: String? = nil"))
    #expect(try embed(dir, Array("echo two\n".utf8)).status == 0)
    #expect(try String(contentsOfFile: dir + "/Embedded.swift", encoding: .utf8).contains("echo two"))
  }

  @Test func whatALiteralCannotCarryIsRefused() throws {
    let dir = try scratch()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let cr = try embed(dir, Array("echo a\r\n".utf8))
    #expect(cr.status == 1 && cr.stderr.contains("carriage return"))
    let latin1 = try embed(dir, [0x65, 0x63, 0x68, 0x6F, 0x20, 0xE9, 0x0A])
    #expect(latin1.status == 1 && latin1.stderr.contains("is not UTF-8"))
    let commit = try embed(dir, Array("echo\n".utf8), commit: "HEAD; rm -rf /")
    #expect(commit.status == 1 && commit.stderr.contains("not a lowercase hex object name"))
    let missing = try External.run(Self.tool, ["--init", dir + "/absent", "--exec", dir + "/exec", "--commit", "", "--output", dir + "/E.swift"])
    #expect(missing.status == 1 && missing.stderr.contains("cannot read \(dir)/absent: No such file or directory"))
    #expect(!FileManager.default.fileExists(atPath: dir + "/Embedded.swift"))
    #expect(!FileManager.default.fileExists(atPath: dir + "/E.swift"))
  }

  /// The commit as git's files name it: a detached HEAD, a worktree whose branch ref is loose in
  /// the common directory, a ref only in packed-refs, and a HEAD naming a ref that is nowhere.
  @Test func theCommitIsReadFromGitsFiles() throws {
    let dir = try scratch()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let a = "0123456789abcdef0123456789abcdef01234567", b = "89abcdef0123456789abcdef0123456789abcdef"
    let fm = FileManager.default
    try fm.createDirectory(atPath: dir + "/common/refs/heads", withIntermediateDirectories: true)
    try fm.createDirectory(atPath: dir + "/wt", withIntermediateDirectories: true)
    _ = FileManager.default.createFile(atPath: dir + "/init", contents: Data("echo\n".utf8))
    _ = FileManager.default.createFile(atPath: dir + "/exec", contents: Data("echo\n".utf8))
    func commitLine() throws -> String {
      let r = try External.run(Self.tool, [
        "--init", dir + "/init", "--exec", dir + "/exec", "--output", dir + "/E.swift", "--git-dir", dir + "/wt",
        "--git-common-dir", dir + "/common",
      ])
      #expect(r.status == 0, "\(r.stderr)")
      return try String(contentsOfFile: dir + "/E.swift", encoding: .utf8).split(separator: "\n").first { $0.contains("let commit") }
        .map(String.init) ?? ""
    }
    try "\(a)\n".write(toFile: dir + "/wt/HEAD", atomically: true, encoding: .utf8)
    #expect(try commitLine().hasSuffix("= \"\(a)\""))
    try "ref: refs/heads/topic\n".write(toFile: dir + "/wt/HEAD", atomically: true, encoding: .utf8)
    try "\(b)\n".write(toFile: dir + "/common/refs/heads/topic", atomically: true, encoding: .utf8)
    #expect(try commitLine().hasSuffix("= \"\(b)\""))
    try fm.removeItem(atPath: dir + "/common/refs/heads/topic")
    try "# pack-refs with: peeled fully-peeled sorted\n\(b) refs/heads/main\n\(a) refs/heads/topic\n"
      .write(toFile: dir + "/common/packed-refs", atomically: true, encoding: .utf8)
    #expect(try commitLine().hasSuffix("= \"\(a)\""))
    try "ref: refs/heads/nowhere\n".write(toFile: dir + "/wt/HEAD", atomically: true, encoding: .utf8)
    #expect(try commitLine().hasSuffix("= nil"))
  }
}
