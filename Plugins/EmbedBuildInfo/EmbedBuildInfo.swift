// A build-tool plugin: turns what an installed daxpin needs from the source tree into Swift
// source compiled into the DaxPinBuildInfo module, so the binary carries it:
//
// - scripts/lab/init, the lab guest's PID 1, scripts/lab/exec, the `lab --exec` runner, and
//   bench/pinbench.c, the C twin `lab --bench` compiles for the guests (the single copies people
//   edit), as strings;
// - the git commit the package is built from, read from the checkout's .git by the tool (HEAD,
//   the ref it names, packed-refs; a worktree's `.git` file is followed), or none without .git.
//
// SwiftPM does not plan the build again (nor ask this plugin) when only .git changed, so the
// commit cannot be an argument: the tool reads it when it runs, and the files that move when
// HEAD moves (HEAD, its reflog, the branch's ref, packed-refs) are its input files, so a commit,
// a checkout or a reset runs it again. The two scripts are input files too.
import Foundation
import PackagePlugin

@main
struct EmbedBuildInfo: BuildToolPlugin {
  func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
    let root = context.package.directoryURL
    let initScript = root.appending(path: "scripts/lab/init")
    let execScript = root.appending(path: "scripts/lab/exec")
    let pinbench = root.appending(path: "bench/pinbench.c")
    let output = context.pluginWorkDirectoryURL.appending(path: "Embedded.swift")
    var arguments = [
      "--init", initScript.path(percentEncoded: false), "--exec", execScript.path(percentEncoded: false),
      "--pinbench", pinbench.path(percentEncoded: false),
      "--output", output.path(percentEncoded: false),
    ]
    var inputs = [initScript, execScript, pinbench]
    if let git = GitDirectories(packageDirectory: root) {
      arguments += ["--git-dir", git.gitDir.path(percentEncoded: false), "--git-common-dir", git.commonDir.path(percentEncoded: false)]
      inputs += git.inputs
    }
    return [
      .buildCommand(
        displayName: "Embedding scripts/lab/init, scripts/lab/exec, bench/pinbench.c and the commit into \(target.name)",
        executable: try context.tool(named: "daxpin-embed").url,
        arguments: arguments,
        inputFiles: inputs,
        outputFiles: [output])
    ]
  }
}

/// Where a checkout keeps HEAD (the git directory: `.git`, or for a worktree the directory its
/// `.git` file names) and the refs (the common directory: the main checkout's `.git`).
struct GitDirectories {
  var gitDir: URL
  var commonDir: URL
  /// The files that change when HEAD moves, those that exist now.
  var inputs: [URL] = []

  init?(packageDirectory: URL) {
    let fm = FileManager.default
    let dotGit = packageDirectory.appending(path: ".git")
    var isDirectory: ObjCBool = false
    guard fm.fileExists(atPath: dotGit.path(percentEncoded: false), isDirectory: &isDirectory) else { return nil }
    gitDir = dotGit
    if !isDirectory.boolValue {
      // A worktree or submodule: `gitdir: PATH`.
      guard let text = Self.read(dotGit), text.hasPrefix("gitdir:") else { return nil }
      let path = text.dropFirst("gitdir:".count).trimmingCharacters(in: .whitespacesAndNewlines)
      gitDir = path.hasPrefix("/") ? URL(filePath: path) : packageDirectory.appending(path: path)
      inputs.append(dotGit)
    }
    commonDir = gitDir
    if let rel = Self.read(gitDir.appending(path: "commondir"))?.trimmingCharacters(in: .whitespacesAndNewlines) {
      commonDir = rel.hasPrefix("/") ? URL(filePath: rel) : gitDir.appending(path: rel)
    }
    var candidates = [gitDir.appending(path: "HEAD"), gitDir.appending(path: "logs/HEAD"), commonDir.appending(path: "packed-refs")]
    if let head = Self.read(gitDir.appending(path: "HEAD")), head.hasPrefix("ref:") {
      let ref = head.dropFirst("ref:".count).trimmingCharacters(in: .whitespacesAndNewlines)
      candidates += [gitDir.appending(path: ref), commonDir.appending(path: ref)]
    }
    for url in candidates where fm.fileExists(atPath: url.path(percentEncoded: false)) && !inputs.contains(url) {
      inputs.append(url)
    }
  }

  static func read(_ url: URL) -> String? { try? String(contentsOf: url, encoding: .utf8) }
}
