"""Heat resource plugin of nova-pwnetizer: ``OS::Pwnetizer::ServerClone``.

Point heat-engine's ``plugin_dirs`` at this directory (see ``doc/heat.md``);
Heat then loads :mod:`server_clone` from it (as ``heat.engine.plugins.server_clone``,
so the module only uses absolute imports).
"""
