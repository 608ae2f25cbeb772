#!/bin/bash
# devstack plugin of nova-pwnetizer: installs the package, the compute
# driver shim, the scheduler filter and weigher, and the clone API filter.

source "$PWNETIZER_DIR/devstack/lib/pwnetizer"

if [[ "$1" == "stack" && "$2" == "install" ]]; then
    echo_summary "Installing nova-pwnetizer"
    install_pwnetizer
elif [[ "$1" == "stack" && "$2" == "post-config" ]]; then
    echo_summary "Configuring nova-pwnetizer"
    configure_pwnetizer
elif [[ "$1" == "stack" && "$2" == "extra" ]]; then
    # Horizon is installed by now
    configure_pwnetizer_horizon
fi
