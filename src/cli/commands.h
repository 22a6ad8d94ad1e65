// The subcommands of `suanli`, one file each (cmd_<name>.cpp). Each gets the arguments after
// its name and returns the exit code. Bad usage throws UsageError (exit 2), a failure at
// run time throws Error (exit 1); main() turns both into messages.
#pragma once

#include <span>
#include <string_view>

namespace suanli {

int cmd_run(std::span<const std::string_view> args);
int cmd_chat(std::span<const std::string_view> args);
int cmd_info(std::span<const std::string_view> args);
int cmd_quantize(std::span<const std::string_view> args);
int cmd_convert(std::span<const std::string_view> args);
int cmd_backends(std::span<const std::string_view> args);
int cmd_perplexity(std::span<const std::string_view> args);
int cmd_bench(std::span<const std::string_view> args);
int cmd_synth(std::span<const std::string_view> args);
int cmd_conformance(std::span<const std::string_view> args);
int cmd_serve(std::span<const std::string_view> args);

}  // namespace suanli
