package identitymodule_test

import (
	"errors"

	"github.com/shopmonolith/shop/platform/errs"
)

func asError(err error, target **errs.Error) bool { return errors.As(err, target) }
