// A build-tool plugin: turns what an installed daxpin needs from the source tree into Swift
// source compiled into the DaxPinBuildInfo module, so the binary carries it:
//
// - scripts/lab/init, the lab guest's PID 1 (the single copy people edit), as a string;
// - the git commit the package is built from, read from the checkout's .git (HEAD, the ref it
//   names, packed-refs; a worktree's `.git` file is followed), or none without a .git.
//
// The commit is resolved here, when the build is planned, and handed to `daxpin-embed` as an
// argument: a new commit changes the command, so the build runs it again. scripts/lab/init is
// an input file, so an edit to it does too.
import Foundation
import PackagePlugin

@main
struct EmbedBuildInfo: BuildToolPlugin {
  func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
    let root = context.package.directoryURL
    let initScript = root.appending(path: "scripts/lab/init")
    let output = context.pluginWorkDirectoryURL.appending(path: "Embedded.swift")
    let git = GitCheckout(packageDirectory: root)
    return [
      .buildCommand(
        displayName: "Embedding scripts/lab/init and the commit (\(git.commit ?? "unknown")) into \(target.name)",
        executable: try context.tool(named: "daxpin-embed").url,
        arguments: [
          "--init", initScript.path(percentEncoded: false),
          "--commit", git.commit ?? "",
          "--output", output.path(percentEncoded: false),
        ],
        inputFiles: [initScript] + git.inputs,
        outputFiles: [output])
    ]
  }
}

/// The commit a checkout's HEAD names, read from the files git keeps (no git process: a fresh
/// clone in CI has git, a source tarball has no .git at all and gets no commit).
struct GitCheckout {
  var commit: String?
  /// The files the answer was read from (HEAD, the ref, packed-refs), existing ones only.
  var inputs: [URL] = []

  init(packageDirectory: URL) {
    let dotGit = packageDirectory.appending(path: ".git")
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: dotGit.path(percentEncoded: false), isDirectory: &isDirectory) else { return }
    var gitDir = dotGit
    if !isDirectory.boolValue {
      // A worktree or submodule: `gitdir: PATH`.
      guard let text = Self.read(dotGit), text.hasPrefix("gitdir:") else { return }
      let path = text.dropFirst("gitdir:".count).trimmingCharacters(in: .whitespacesAndNewlines)
      gitDir = path.hasPrefix("/") ? URL(filePath: path) : packageDirectory.appending(path: path)
      inputs.append(dotGit)
    }
    // Refs live in the common directory (the main checkout's .git for a worktree).
    var common = gitDir
    if let rel = Self.read(gitDir.appending(path: "commondir"))?.trimmingCharacters(in: .whitespacesAndNewlines) {
      common = rel.hasPrefix("/") ? URL(filePath: rel) : gitDir.appending(path: rel)
    }
    let head = gitDir.appending(path: "HEAD")
    guard let headText = Self.read(head)?.trimmingCharacters(in: .whitespacesAndNewlines) else { return }
    inputs.append(head)
    guard headText.hasPrefix("ref:") else {
      commit = Self.hash(headText)
      return
    }
    let ref = headText.dropFirst("ref:".count).trimmingCharacters(in: .whitespaces)
    let packed = common.appending(path: "packed-refs")
    if FileManager.default.fileExists(atPath: packed.path(percentEncoded: false)) { inputs.append(packed) }
    for dir in [gitDir, common] {
      let loose = dir.appending(path: ref)
      if let text = Self.read(loose) {
        inputs.append(loose)
        commit = Self.hash(text.trimmingCharacters(in: .whitespacesAndNewlines))
        return
      }
    }
    // `<hash> <ref>` lines in packed-refs.
    for line in (Self.read(packed) ?? "").split(separator: "\n") {
      let f = line.split(separator: " ")
      if f.count == 2, f[1] == ref { commit = Self.hash(String(f[0])) }
    }
  }

  static func read(_ url: URL) -> String? { try? String(contentsOf: url, encoding: .utf8) }

  /// A full object name (40 or 64 hex digits), else nil.
  static func hash(_ s: String) -> String? {
    (s.count == 40 || s.count == 64) && s.allSatisfy(\.isHexDigit) ? s.lowercased() : nil
  }
}
