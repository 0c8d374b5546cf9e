/// The plugin source of a C or C++ project made by `agentctl new`.
enum CSources {
    static func agent(_ name: String) -> String {
        """
        /*
         * \(name).c — an AgentOS agent. init, on_message and stop run on the
         * instance's own thread, so the state needs no lock. The ABI, with who
         * owns every pointer: agentos.h.
         */
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>

        #include "agentos.h"

        typedef struct state {
            const aos_kernel_api *api; /* valid until stop returns */
            unsigned long greetings;
        } state;

        static aos_status agent_init(aos_ctx *ctx, const aos_kernel_api *api, const char *config, void **out) {
            (void)ctx;
            (void)config;
            state *st = calloc(1, sizeof *st);
            if (st == NULL)
                return AOS_ENOMEM;
            st->api = api;
            *out = st;
            return AOS_OK;
        }

        /* `msg` is lent until this returns; reply copies what it sends. */
        static aos_status agent_on_message(aos_ctx *ctx, void *data, const aos_message *msg) {
            state *st = data;
            if ((msg->flags & AOS_MSG_REQUEST) == 0)
                return AOS_OK;
            char text[128];
            snprintf(text, sizeof text, "hello, %s (greeting %lu)", msg->from, ++st->greetings);
            return st->api->reply(ctx, msg->id, (aos_bytes){(const uint8_t *)text, strlen(text)});
        }

        static void agent_stop(aos_ctx *ctx, void *data) {
            (void)ctx;
            free(data);
        }

        AOS_PLUGIN_EXPORT const aos_plugin_descriptor aos_plugin = {
            AOS_PLUGIN_HEADER,
            .kind = AOS_KIND_AGENT,
            .name = "\(name)",
            .version = "0.1.0",
            .description = "Greets whoever sends it a request.",
            .init = agent_init,
            .on_message = agent_on_message,
            .stop = agent_stop,
        };

        """
    }

    static func tool(_ name: String) -> String {
        """
        /*
         * \(name).c — an AgentOS tool plugin: plain C functions listed in the
         * descriptor; the kernel checks each call's JSON arguments against the
         * signature and calls them through libffi. Callers name them "\(name).twice".
         */
        #include "agentos.h"

        static double twice(double x) { return 2 * x; }

        static const aos_tool_param twice_params[] = {{"x", AOS_TYPE_DOUBLE, 1, "the number to double"}};
        static const aos_tool tools[] = {
            {.name = "twice", .description = "Double a number: 2 * x.", .fn = AOS_TOOL_FN(twice),
             .returns = AOS_TYPE_DOUBLE, .flags = AOS_TOOL_THREAD_SAFE, .n_params = 1, .params = twice_params},
        };

        AOS_PLUGIN_EXPORT const aos_plugin_descriptor aos_plugin = {
            AOS_PLUGIN_HEADER,
            .kind = AOS_KIND_TOOL,
            .name = "\(name)",
            .version = "0.1.0",
            .description = "Doubles numbers.",
            .tools = tools,
            .n_tools = sizeof tools / sizeof tools[0],
        };

        """
    }

    static func cppAgent(_ name: String) -> String {
        """
        // \(name).cpp — an AgentOS agent in C++ (agentos.hpp). The constructor is
        // init, on_message handles one message, the destructor is stop; all run
        // on the instance's own thread. An exception becomes the handler's
        // status and a log line: none crosses into the kernel.
        #include <string>
        #include <string_view>

        #include "agentos.hpp"

        namespace {

        class agent {
        public:
            agent(aos::context ctx, std::string_view) : ctx_(ctx) {}

            void on_message(const aos::message &msg) {
                if (!msg.is_request()) return;
                ctx_.reply(msg, "hello, " + std::string(msg.from()) + " (greeting " + std::to_string(++greetings_) + ")");
            }

        private:
            aos::context ctx_;
            unsigned long greetings_ = 0;
        };

        } // namespace

        extern "C" AOS_PLUGIN_EXPORT const aos_plugin_descriptor aos_plugin;
        const aos_plugin_descriptor aos_plugin =
            aos::agent_descriptor<agent>("\(name)", "0.1.0", "Greets whoever sends it a request.");

        """
    }

    static func cppTool(_ name: String) -> String {
        """
        // \(name).cpp — an AgentOS tool plugin in C++: functions with C types,
        // listed in the descriptor; the kernel checks each call's JSON arguments
        // and calls them through libffi. Callers name them "\(name).twice".
        // A tool must not throw: catch inside and fail the call with api->tool_error.
        #include "agentos.hpp"

        namespace {

        double twice(double x) noexcept { return 2 * x; }

        const aos_tool_param twice_params[] = {{"x", AOS_TYPE_DOUBLE, 1, "the number to double"}};
        const aos_tool tools[] = {
            {"twice", "Double a number: 2 * x.", AOS_TOOL_FN(twice), AOS_TYPE_DOUBLE, AOS_TOOL_THREAD_SAFE, 1, 0,
             twice_params, nullptr, nullptr},
        };

        } // namespace

        extern "C" AOS_PLUGIN_EXPORT const aos_plugin_descriptor aos_plugin;
        const aos_plugin_descriptor aos_plugin = [] {
            aos_plugin_descriptor d = aos_plugin_header();
            d.kind = AOS_KIND_TOOL;
            d.name = "\(name)";
            d.version = "0.1.0";
            d.description = "Doubles numbers.";
            d.tools = tools;
            d.n_tools = sizeof tools / sizeof tools[0];
            return d;
        }();

        """
    }
}
