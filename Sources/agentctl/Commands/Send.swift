import ArgumentParser
import ControlAPI
import ControlClient
import Foundation

/// `agentctl send NAME TEXT`: put a message in an instance's mailbox.
struct Send: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Send a text message to an instance.",
        discussion: """
            Without --wait the message is queued and its id printed. With --wait \
            it is sent as a request and the instance's reply is printed exactly \
            as received, so it can be piped on; its request id goes to stderr, \
            as [request 42], to rate it with `agentctl feedback 42 up|down`. A full mailbox, an unknown \
            instance, or no reply within --timeout is an error (exit 1).

            Examples:
              agentctl send echo "hello"
              agentctl send echo "hello" --wait --timeout 60
              agentctl send support "How much is the A-200?" --session customer-42 --wait

            With --session the receiver sees the session id with the message \
            (aos_message.session) and passes it on to its inference requests: \
            the kernel keeps the conversation (`agentctl sessions show NAME ID`).
            """
    )

    @Argument(help: "The receiving instance's name.")
    var name: String

    @Argument(help: "The message body (UTF-8 text).")
    var text: String

    @Flag(help: "Wait for the instance's reply and print it.")
    var wait = false

    @Option(help: ArgumentHelp("With --wait, seconds to wait for the reply.", valueName: "seconds"))
    var timeout: Double = 30

    @Option(help: ArgumentHelp("A session the receiver continues (for its inference requests).", valueName: "id"))
    var session: String?

    @Option(
        name: .shortAndLong,
        help: ArgumentHelp("Output format; json prints message_id, reply, elapsed_seconds.", valueName: "format"))
    var output: OutputFormat = .table

    func validate() throws {
        guard timeout > 0, timeout * 1000 < Double(UInt32.max) else {
            throw ValidationError("--timeout must be a positive number of seconds, below 49 days.")
        }
    }

    func run() async throws {
        let request = SendRequest(text: text, wait: wait, timeoutMs: UInt32((timeout * 1000).rounded(.up)), session: session)
        let response: SendResponse
        do {
            response = try await ControlClient().send(name, request)
        } catch ControlClientError.api(let status, ErrorCode.timedOut.rawValue, _) where wait {
            throw ControlClientError.api(
                status: status, code: ErrorCode.timedOut.rawValue,
                message: "no reply from \(name) within \(secondsText(timeout)) (raise --timeout, or see `agentctl logs \(name)`)"
            )
        }
        switch output {
        case .json:
            try printJSON(response)
        case .table where wait:
            let reply = response.reply ?? ""
            print(reply, terminator: reply.hasSuffix("\n") ? "" : "\n")
            fflush(nil)
            printError("[request \(response.messageId)]")
        case .table:
            print("sent message \(response.messageId) to \(name)")
        }
    }
}
