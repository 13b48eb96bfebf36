import ArgumentParser
import DaxPinCore
import DaxPinLinux

/// Options shared by every command that prints a document.
struct OutputOptions: ParsableArguments {
  @Flag(help: "Print JSON instead of text (the same as --format json).")
  var json = false

  @Option(name: .customLong("format"), help: ArgumentHelp("text, json, junit or ktap (probe only: junit, ktap).", valueName: "FORMAT"))
  var formatOption: ReportFormat?

  /// What to print: --format, json for --json, text by default (`ReportFormat`).
  var format: ReportFormat { json ? .json : formatOption ?? .text }

  func validate() throws {
    if json, let f = formatOption, f != .json { throw ValidationError("--json is --format json; it cannot go with --format \(f.rawValue)") }
  }

  @Option(
    help: ArgumentHelp(
      "Also write the JSON document to FILE. A new or regular FILE is replaced atomically (temporary file, fsync, rename; a regular file keeps its owner and mode); a device or FIFO such as /dev/stdout is written through.",
      valueName: "FILE"))
  var output: String?

  /// Writes `json` to --output by `OutputFile`'s policy; a failure is one line and exit 2.
  func writeFile(_ json: String) throws {
    guard let output else { return }
    do {
      try OutputFile.write(json, to: output)
    } catch {
      throw Exit.toolFailure("--output \(error)")
    }
  }
}

/// A failure of the tool itself: one line on stderr, exit 2.
struct CLIError: Error, CustomStringConvertible {
  var description: String
  init(_ message: String) { description = message }
}

enum Exit {
  /// Prints the message as one line and exits 2 (docs/design.md, "Reports": the tool failed).
  static func toolFailure(_ message: String) -> ExitCode {
    Stderr.line("daxpin: \(message)")
    return ExitCode(2)
  }
}

enum Stdout {
  /// The whole document on standard output, checked (`StandardOutput`): a write error is one
  /// line (`daxpin: standard output: ENOSPC`) and exit 2, a signal ends daxpin by that signal.
  static func write(_ document: String) throws {
    do {
      try StandardOutput.write(document)
    } catch {
      throw Exit.toolFailure("\(error)")
    }
  }
}

enum Stderr {
  /// One line on standard error (fd 2), unbuffered.
  static func line(_ s: String) { StandardError.line(s) }
  /// A status line on a terminal, redrawn in place (`StandardError.status`).
  static func status(_ s: String) { StandardError.status(s) }
}
