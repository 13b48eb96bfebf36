import ArgumentParser
import DaxPinCore
import DaxPinLinux

/// `daxpin contract` (hidden): answers the misuse scenarios on this machine's real kernel, as JSON.
/// The lab runs it in each guest and compares the answers with the kernel's fake profile.
struct ContractCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "contract", abstract: "Answer the misuse scenarios on the real kernel (used by the lab).", shouldDisplay: false)

  /// The misuse answers on `host`, with the request every caller makes (`daxpin contract` and
  /// `daxpin probe --contract-output` must answer alike).
  static func misuseAnswers(on host: any Host) throws(ProbeProblem) -> MisuseAnswers {
    try ProbeRun(host: host, request: ProbeRequest(toolVersion: DaxpinVersion.string)).misuseAnswers()
  }

  func run() throws {
    let answers: MisuseAnswers
    do {
      answers = try Self.misuseAnswers(on: LinuxHost())
    } catch {
      Stderr.line("daxpin: \(error)")
      throw ExitCode(error.exitCode)
    }
    try Stdout.write(try ReportJSON.encode(answers))
  }
}
