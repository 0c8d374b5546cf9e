// Triage.swift — the front desk of the customer service, an agent in Swift.
//
// Each request is a customer's message. The model classifies it, its output
// held by a JSON Schema to {"category": "product" | "complaint" | "other"};
// the agent then routes the message with `call`:
//
//   product    to support, which answers from the catalog's tools
//   complaint  to summarizer, whose summary goes to a human colleague
//   other      answered here: what this desk can help with
//
// and replies with one JSON object: the category, where it went, the answer.
//
//   agentctl send triage "How much does the A-200 cost?" --wait
//   agentctl logs triage
//
// Config: "product=AGENT,complaint=AGENT" changes the routes. It needs the
// grants infer, send:support and send:summarizer (sdk/examples/policy.yaml).
// The handler blocks in `call` while the receiver works: one message at a time.
import AgentOSKit
import Foundation

@main struct Triage: Agent {
    static let plugin = PluginInfo(
        name: "triage", version: "1.0.0",
        description: "Classifies a customer's message with the model and routes it to the agent that handles it.",
        capabilities: ["infer", "send:support", "send:summarizer"])

    static let instructions = """
        Classify the customer's message. Categories: "product" for questions about products, \
        prices or stock; "complaint" for a problem with an order or a product; "other" for anything else.
        """
    static let schema = #"{"type": "object", "properties": {"category": {"enum": ["product", "complaint", "other"]}}, "required": ["category"]}"#

    struct Classification: Decodable { var category: String }
    struct Answer: Encodable {
        var category: String
        var routedTo: String?
        var answer: String
        enum CodingKeys: String, CodingKey { case category, routedTo = "routed_to", answer }
    }

    /// Category to the agent that takes it.
    var routes = ["product": "support", "complaint": "summarizer"]
    var handled = 0

    init(config: String, context: Context) throws {
        for pair in config.split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, routes[parts[0]] != nil else {
                throw AgentOSError(.invalidArgument, "config '\(pair)': expected product=AGENT or complaint=AGENT")
            }
            routes[parts[0]] = parts[1]
        }
        context.logger.info("triage: routes \(routes.sorted { $0.key < $1.key }.map { "\($0.key)→\($0.value)" }.joined(separator: ", "))")
    }

    mutating func handle(_ message: Message, context: Context) throws {
        guard message.isRequest else { return }
        handled += 1
        let category = try classify(message.text, context: context)
        context.logger.info("message \(handled) from \(message.from): \(category)")
        let answer: Answer
        if let agent = routes[category] {
            answer = Answer(category: category, routedTo: agent, answer: try context.call(agent, message.text, timeout: .seconds(120)))
        } else {
            answer = Answer(category: category, answer: "I can help with our products, prices, stock and complaints about an order.")
        }
        try context.reply(to: message, String(decoding: try JSONEncoder().encode(answer), as: UTF8.self))
    }

    /// The model's category for `text`: one of the schema's, guaranteed by the grammar.
    func classify(_ text: String, context: Context) throws -> String {
        var request = InferenceRequest(system: Self.instructions, user: text, maxTokens: 24)
        request.jsonSchema = Self.schema
        let result = try context.infer(request)
        return try JSONDecoder().decode(Classification.self, from: Data(result.text.utf8)).category
    }
}
