import DaxPinLinux
import FoundationEssentials

/// A private apt state (lists, cache, status, sources) under the lab's cache directory, naming
/// the machine's own Debian mirror for every suite the lab needs. The machine's apt state is
/// never touched.
struct AptRepository {
  let directory: String
  let mirror: String
  let log: (String) -> Void

  var sourcesList: String { directory + "/sources.list" }

  /// Options that point apt-get / apt-cache at the private state only.
  var options: [String] {
    [
      "-o", "Dir::Etc::SourceList=\(sourcesList)", "-o", "Dir::Etc::SourceParts=/dev/null",
      "-o", "Dir::State::Lists=\(directory)/lists", "-o", "Dir::State::Status=\(directory)/status",
      "-o", "Dir::Cache=\(directory)/cache", "-o", "Dir::Etc::Preferences=/dev/null",
      "-o", "Dir::Etc::PreferencesParts=/dev/null", "-o", "Debug::NoLocking=1", "-o", "APT::Sandbox::User=root",
      "-o", "Acquire::Languages=none",
    ]
  }

  /// The mirror from /etc/apt, or a clear error saying where daxpin looked.
  static func machineMirror(root: String = "") throws(LabError) -> String {
    let fm = FileManager.default
    var sources = AptSources.parseList((try? String(contentsOfFile: root + "/etc/apt/sources.list", encoding: .utf8)) ?? "")
    let dir = root + "/etc/apt/sources.list.d"
    for name in ((try? fm.contentsOfDirectory(atPath: dir)) ?? []).sorted() {
      let text = (try? String(contentsOfFile: dir + "/" + name, encoding: .utf8)) ?? ""
      if name.hasSuffix(".sources") { sources += AptSources.parseDeb822(text) }
      if name.hasSuffix(".list") { sources += AptSources.parseList(text) }
    }
    guard let mirror = AptSources.debianMirror(in: sources) else {
      throw .setup(
        "no Debian mirror in /etc/apt/sources.list or /etc/apt/sources.list.d: the lab fetches kernels through the mirror apt already uses")
    }
    return mirror
  }

  /// Writes the private sources.list and runs `apt-get update` unless the lists are fresh.
  func update(maxAgeSeconds: Double = 24 * 3600) throws(LabError) {
    let fm = FileManager.default
    for d in ["lists/partial", "cache/archives/partial"] {
      try? fm.createDirectory(atPath: directory + "/" + d, withIntermediateDirectories: true)
    }
    if !fm.fileExists(atPath: directory + "/status") { _ = fm.createFile(atPath: directory + "/status", contents: Data()) }
    let list = DebianKernel.allSuites.map { "deb \(mirror) \($0) main" }.joined(separator: "\n") + "\n"
    let old = try? String(contentsOfFile: sourcesList, encoding: .utf8)
    let stamp = directory + "/updated"
    if old == list, let attrs = try? fm.attributesOfItem(atPath: stamp), let date = attrs[.modificationDate] as? Date,
      Date().timeIntervalSince(date) < maxAgeSeconds
    {
      return
    }
    try? Data(list.utf8).write(to: URL(fileURLWithPath: sourcesList))
    log("apt-get update (\(DebianKernel.allSuites.joined(separator: ", ")) via \(mirror))")
    let r = try run(["apt-get"] + options + ["update", "-q"])
    guard r.exit.succeeded else { throw .setup("apt-get update failed: \(r.stderr.suffix(600))") }
    _ = fm.createFile(atPath: stamp, contents: Data())
  }

  /// (version, suite) rows of `apt-cache madison`, newest first.
  func versions(of package: String) throws(LabError) -> [(version: String, suite: String)] {
    let r = try run(["apt-cache"] + options + ["madison", package])
    return r.stdout.split(separator: "\n").compactMap { line in
      let cols = line.split(separator: "|").map { $0.trimmingCharacters(in: " ") }
      guard cols.count >= 3 else { return nil }
      let suite = cols[2].split(separator: " ").dropFirst().first?.split(separator: "/").first.map(String.init) ?? ""
      return (cols[1], suite)
    }
  }

  /// The exact-version dependencies (`name (= version)`) of one version of a package.
  func exactDependencies(of package: String, version: String) throws(LabError) -> [String: String] {
    let r = try run(["apt-cache"] + options + ["show", "\(package)=\(version)"])
    guard r.exit.succeeded else { throw .setup("apt-cache show \(package)=\(version): \(r.stderr)") }
    var out: [String: String] = [:]
    guard let depends = r.stdout.split(separator: "\n").first(where: { $0.hasPrefix("Depends:") }) else { return out }
    for alt in depends.dropFirst("Depends:".count).split(separator: ",") {
      let dep = alt.split(separator: "|").first!.trimmingCharacters(in: " ")
      guard let open = dep.firstIndex(of: "("), dep.contains("(= ") else { continue }
      let name = dep[..<open].trimmingCharacters(in: " ")
      let v = dep[dep.index(open, offsetBy: 3)...].trimmingCharacters(in: " )")
      out[name] = v
    }
    return out
  }

  /// `apt-get download name=version` into `dir`; returns the .deb's path.
  func download(_ package: String, version: String, into dir: String) throws(LabError) -> String {
    log("apt-get download \(package)=\(version)")
    let r = try run(["apt-get"] + options + ["download", "-q", "\(package)=\(version)"], in: dir)
    let debs = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasPrefix(package + "_") && $0.hasSuffix(".deb") }
    guard r.exit.succeeded, let deb = debs.first else {
      throw .setup("apt-get download \(package)=\(version) failed: \(r.stderr.suffix(600))")
    }
    return dir + "/" + deb
  }

  private func run(_ argv: [String], in dir: String? = nil) throws(LabError) -> HostProcess.Output {
    do { return try HostProcess.run(argv, workingDirectory: dir) } catch { throw .setup("\(error)") }
  }
}
