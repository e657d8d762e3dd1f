// Package directory holds the registries the Hunan plan asks for
// (湖南省工业水效提升三年行动方案 2023–2025, items 14 and 15): the water
// manager (水务经理) of each enterprise — required of enterprises above
// 100,000 m³ a year (ManagerThreshold) —, the library of third-party
// service providers (工业水效提升第三方服务库: water-balance testing,
// water-saving diagnosis, contract water saving) with their
// qualifications and the enterprises they served, and the water-saving
// technology catalogue (data/technologies.csv, every name transcribed
// from the plan's industry lists with its line). A retrofit case
// (package quotacase) can be linked to the provider and the technology it
// uses (CaseLink); the linked cases are the catalogue's typical cases.
//
// It defines the records, their validation (each refusal names its field)
// and search over them (Match). It is pure: internal/registries keeps the
// records in the store and answers the API.
package directory

import (
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shuixiao/shuixiao/reading"
)

// ManagerThreshold is the annual intake (m³) above which the plan asks an
// enterprise to appoint a water manager: "年用水总量超过 10 万立方米的企业设立
// 水务经理" (seed line 198).
const ManagerThreshold = 100_000

// Bounds of free text, in bytes.
const (
	MaxName = 200
	MaxText = 2000
	// MaxList bounds a provider's services, qualifications and served
	// enterprises.
	MaxList = 200
)

// ErrInvalid is the kind of every refusal of a record (errors.Is).
var ErrInvalid = errors.New("invalid registry record")

func invalid(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, a...))
}

// text checks a free-text field: UTF-8, at most max bytes, no control
// characters; required fields must not be blank.
func text(field, v string, max int, required bool) error {
	switch {
	case required && strings.TrimSpace(v) == "":
		return invalid("field %s is empty", field)
	case !utf8.ValidString(v) || len(v) > max:
		return invalid("field %s: not UTF-8 text of at most %d bytes", field, max)
	case strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 && r != '\n' || r == 0x7f }):
		return invalid("field %s: control characters", field)
	}
	return nil
}

// Manager is an enterprise's water manager (水务经理). An enterprise has at
// most one; a new appointment replaces the old.
type Manager struct {
	Enterprise string `json:"enterprise"`
	Name       string `json:"name"`
	Phone      string `json:"phone,omitempty"`
	Email      string `json:"email,omitempty"`
	// Certificate is the manager's training or qualification certificate,
	// if any.
	Certificate string    `json:"certificate,omitempty"`
	Appointed   time.Time `json:"appointed"`
	// UpdatedBy is the principal (API token) that recorded the
	// appointment, UpdatedAt when; both set by the server.
	UpdatedBy string    `json:"updated_by"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Validate checks a manager record.
func (m Manager) Validate() error {
	if err := reading.ValidID(m.Enterprise); err != nil {
		return invalid("field enterprise: %v", err)
	}
	if err := text("name", m.Name, MaxName, true); err != nil {
		return err
	}
	if err := text("phone", m.Phone, 40, false); err != nil {
		return err
	}
	if m.Phone != "" && strings.ContainsFunc(m.Phone, func(r rune) bool { return !strings.ContainsRune("0123456789+-() ", r) }) {
		return invalid("field phone: %q has characters other than digits, + - ( ) and spaces", m.Phone)
	}
	if m.Email != "" {
		if a, err := mail.ParseAddress(m.Email); err != nil || a.Address != m.Email || len(m.Email) > MaxName {
			return invalid("field email: %q is not an e-mail address", m.Email)
		}
	}
	if err := text("certificate", m.Certificate, MaxName, false); err != nil {
		return err
	}
	if m.Appointed.IsZero() {
		return invalid("field appointed is empty")
	}
	return stamped(m.UpdatedBy, m.UpdatedAt)
}

func stamped(by string, at time.Time) error {
	if by == "" {
		return invalid("field updated_by is empty")
	}
	if at.IsZero() {
		return invalid("field updated_at is empty")
	}
	return nil
}

// Service is a kind of service a third-party provider offers.
type Service string

// Services of the plan's third-party library.
const (
	WaterBalanceTest Service = "water_balance_test" // 水平衡测试
	Diagnosis        Service = "diagnosis"          // 节水诊断
	ContractSaving   Service = "contract_saving"    // 合同节水管理
	Design           Service = "design"             // 节水改造设计咨询与系统集成
)

// Services lists every service with its Chinese and English names.
var Services = []struct {
	Service        Service
	NameZH, NameEN string
}{
	{WaterBalanceTest, "水平衡测试", "Water-balance testing"},
	{Diagnosis, "节水诊断", "Water-saving diagnosis"},
	{ContractSaving, "合同节水管理", "Contract water saving"},
	{Design, "设计咨询与系统集成", "Design and system integration"},
}

// Valid reports whether s is a known service.
func (s Service) Valid() bool {
	return slices.ContainsFunc(Services, func(x struct {
		Service        Service
		NameZH, NameEN string
	}) bool {
		return x.Service == s
	})
}

// Served is one engagement of a provider: the enterprise, the service and
// the year.
type Served struct {
	Enterprise string  `json:"enterprise"`
	Service    Service `json:"service"`
	Year       int     `json:"year"`
}

// Provider is a third-party service provider of the plan's library.
type Provider struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	NameEN   string    `json:"name_en,omitempty"`
	Region   string    `json:"region"` // GB/T 2260 code of its seat
	Services []Service `json:"services"`
	// Qualifications are its certificates and accreditations as stated
	// (e.g. "CMA 检验检测机构资质认定"), each a line of text.
	Qualifications []string  `json:"qualifications,omitempty"`
	Contact        string    `json:"contact,omitempty"`
	Served         []Served  `json:"served,omitempty"`
	UpdatedBy      string    `json:"updated_by"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// Validate checks a provider record (that served enterprises exist is the
// store's check).
func (p Provider) Validate() error {
	if err := reading.ValidID(p.ID); err != nil {
		return invalid("field id: %v", err)
	}
	if err := text("name", p.Name, MaxName, true); err != nil {
		return err
	}
	if err := text("name_en", p.NameEN, MaxName, false); err != nil {
		return err
	}
	if len(p.Region) != 6 || strings.Trim(p.Region, "0123456789") != "" {
		return invalid("field region: %q is not a 6-digit GB/T 2260 code", p.Region)
	}
	if len(p.Services) == 0 || len(p.Services) > len(Services) {
		return invalid("field services: name one to %d services", len(Services))
	}
	for i, s := range p.Services {
		if !s.Valid() {
			return invalid("field services[%d]: %q is not one of water_balance_test, diagnosis, contract_saving, design", i, s)
		}
		if slices.Contains(p.Services[:i], s) {
			return invalid("field services[%d]: %q twice", i, s)
		}
	}
	if len(p.Qualifications) > MaxList {
		return invalid("field qualifications: more than %d", MaxList)
	}
	for i, q := range p.Qualifications {
		if err := text(fmt.Sprintf("qualifications[%d]", i), q, MaxName, true); err != nil {
			return err
		}
	}
	if err := text("contact", p.Contact, MaxName, false); err != nil {
		return err
	}
	if len(p.Served) > MaxList {
		return invalid("field served: more than %d", MaxList)
	}
	for i, s := range p.Served {
		f := fmt.Sprintf("served[%d]", i)
		if err := reading.ValidID(s.Enterprise); err != nil {
			return invalid("field %s.enterprise: %v", f, err)
		}
		if !slices.Contains(p.Services, s.Service) {
			return invalid("field %s.service: %q is not among the provider's services", f, s.Service)
		}
		if s.Year < 2000 || s.Year > 2100 {
			return invalid("field %s.year: %d is not a year of 2000 to 2100", f, s.Year)
		}
		for _, o := range p.Served[:i] {
			if o == s {
				return invalid("field %s: the same engagement twice", f)
			}
		}
	}
	return stamped(p.UpdatedBy, p.UpdatedAt)
}

// Offers reports whether p offers service s.
func (p Provider) Offers(s Service) bool { return slices.Contains(p.Services, s) }

// CaseLink links a retrofit case to the provider carrying it out and the
// catalogue technology it applies (either may be empty, not both).
type CaseLink struct {
	Case       int64     `json:"case"`
	Provider   string    `json:"provider,omitempty"`
	Technology string    `json:"technology,omitempty"`
	Note       string    `json:"note,omitempty"`
	LinkedBy   string    `json:"linked_by"`
	LinkedAt   time.Time `json:"linked_at"`
}

// Validate checks a link: the technology must be in the catalogue (that
// the case and the provider exist is the store's check).
func (l CaseLink) Validate() error {
	if l.Case <= 0 {
		return invalid("field case: %d is not a case ID", l.Case)
	}
	if l.Provider == "" && l.Technology == "" {
		return invalid("fields provider and technology are both empty")
	}
	if l.Provider != "" {
		if err := reading.ValidID(l.Provider); err != nil {
			return invalid("field provider: %v", err)
		}
	}
	if l.Technology != "" {
		if _, ok := TechnologyByID(l.Technology); !ok {
			return invalid("field technology: %q is not in the catalogue", l.Technology)
		}
	}
	if err := text("note", l.Note, MaxText, false); err != nil {
		return err
	}
	if l.LinkedBy == "" {
		return invalid("field linked_by is empty")
	}
	if l.LinkedAt.IsZero() {
		return invalid("field linked_at is empty")
	}
	return nil
}
