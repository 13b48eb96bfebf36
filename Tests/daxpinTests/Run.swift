import Foundation

/// Runs the built `daxpin` executable (it sits next to the test bundle) and captures its output.
struct Run {
  var status: Int32
  var stdout: String
  var stderr: String
  /// The signal that ended the process, if one did.
  var signalled: Int32?

  static var executable: String {
    let dir = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
    return dir.appendingPathComponent("daxpin").path
  }

  /// - Parameter asUser: run through `setpriv` with this uid (to test the non-root paths).
  static func daxpin(_ args: [String], asUser uid: Int? = nil, environment: [String: String] = [:]) throws -> Run {
    let p = Process()
    if let uid {
      p.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
      p.arguments = ["--reuid=\(uid)", "--regid=\(uid)", "--clear-groups", "--inh-caps=-all", executable] + args
    } else {
      p.executableURL = URL(fileURLWithPath: executable)
      p.arguments = args
    }
    var env = ProcessInfo.processInfo.environment
    env.merge(environment) { $1 }
    p.environment = env
    let out = Pipe()
    let err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return Run(
      status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self),
      signalled: p.terminationReason == .uncaughtSignal ? p.terminationStatus : nil)
  }
}

var isRoot: Bool { getuid() == 0 }
