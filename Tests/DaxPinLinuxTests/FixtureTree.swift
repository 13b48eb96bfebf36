import Foundation

/// A throwaway directory laid out like /proc, /sys and /dev, removed when the test ends.
final class FixtureTree {
  let root: String

  init() throws {
    root = NSTemporaryDirectory() + "daxpin-fixture-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
  }

  deinit { try? FileManager.default.removeItem(atPath: root) }

  func file(_ path: String, _ contents: String = "") throws {
    let full = root + path
    try FileManager.default.createDirectory(
      atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try contents.write(toFile: full, atomically: false, encoding: .utf8)
  }

  func directory(_ path: String) throws {
    try FileManager.default.createDirectory(atPath: root + path, withIntermediateDirectories: true)
  }

  func link(_ path: String, to target: String) throws {
    try FileManager.default.createDirectory(
      atPath: ((root + path) as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try FileManager.default.createSymbolicLink(atPath: root + path, withDestinationPath: target)
  }

  func copy(fixture name: String, to path: String) throws {
    let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)")
    try FileManager.default.createDirectory(
      atPath: ((root + path) as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try FileManager.default.copyItem(atPath: source.path, toPath: root + path)
  }
}

func fixtureText(_ name: String) throws -> String {
  try String(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)"), encoding: .utf8)
}
