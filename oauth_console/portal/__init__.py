"""The developer portal: developers register and manage their own OAuth clients."""
